"""Media: everything between bytes and pixels, outside the backends.

- :mod:`refgen.media.images`: parse data URLs, validate reference images (format by magic bytes,
  size, aspect ratio, decompression bombs), load RGBA pixels with EXIF orientation.
- :mod:`refgen.media.video`: stream frames into one or more H.264/AAC MP4 files at once
  (faststart, exact frame count), write PNG stills and JPEG covers, probe files.
- :mod:`refgen.media.watermark`: the corner watermark (default badge or a custom image).
- :mod:`refgen.media.cutout`: subject masks for references (alpha, GrabCut, a card), scenery.
- :mod:`refgen.media.music`: the seeded background-music synthesizer.
- The compositor's picture: :mod:`refgen.media.scene` (backdrop, layout, drawing) from
  :mod:`refgen.media.subject_layer`, :mod:`refgen.media.camera`, :mod:`refgen.media.backdrop`
  and :mod:`refgen.media.layout`; the rest of the video family's clips: :mod:`refgen.media.photo_motion`
  (img2video), :mod:`refgen.media.morph` (start-end2video), :mod:`refgen.media.draft_motion`
  (text2video, with :mod:`refgen.media.anime`), and the draft caption (:mod:`refgen.media.caption`).
- For the diffusers backends: :mod:`refgen.media.frames` (native size, frame rate and the contract's
  output size) and :mod:`refgen.media.collage` (references prepared for a model).
"""
