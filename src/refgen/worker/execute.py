"""Run one claimed task: fetch its references, generate, encode, store the creation."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from refgen.backends.base import GenerationBackend
from refgen.contract.catalogue import FPS, lookup
from refgen.contract.sizes import auto_size, output_size
from refgen.domain import Creation, Subject, Task, TaskKind
from refgen.errors import BackendError
from refgen.files.base import FileStore
from refgen.generation import GenerationJob, ImageOutput, SubjectReferences, VideoOutput
from refgen.media.images import DecodeSize, displayed_size, load_rgba
from refgen.media.video import VideoTarget, encode_output, write_jpeg, write_png
from refgen.media.watermark import Watermark
from refgen.worker.lease import TaskLease


def output_prefix(task: Task) -> str:
    """Where this attempt's files go: a worker that lost its lease never touches its successor's."""
    return f"tasks/{task.id}/out{task.attempts}/"


def earlier_output_prefixes(task: Task) -> list[str]:
    """Where the task's earlier attempts put their files (a worker that died mid-task leaves them)."""
    return [f"tasks/{task.id}/out{attempt}/" for attempt in range(1, task.attempts)]


PICTURE_FRAMED = frozenset({TaskKind.IMAGE_TO_VIDEO, TaskKind.START_END_TO_VIDEO})
"""Kinds whose frame takes the (start) picture's displayed ratio; they have no ``aspect_ratio``."""


def frame_size(task: Task, first_reference: Path | None) -> tuple[int, int]:
    """The output frame: the aspect ratio at the resolution, or the first picture's ratio for
    ``aspect_ratio: auto`` and for img2video / start-end2video (whatever ratio the task records)."""
    spec = task.spec
    if spec.aspect_ratio == "auto" or spec.kind in PICTURE_FRAMED:
        if first_reference is None:
            raise BackendError(f"{spec.kind.value} needs a reference image for its frame size")
        return auto_size(spec.resolution, *displayed_size(first_reference))
    return output_size(spec.resolution, spec.aspect_ratio)


def subject_references(
    subjects: Sequence[Subject], references: Sequence[Path]
) -> tuple[SubjectReferences, ...]:
    """The references grouped by subject: each subject takes its ``image_count`` next ones, in order."""
    groups: list[SubjectReferences] = []
    start = 0
    for subject in subjects:
        end = start + subject.image_count
        groups.append(SubjectReferences(subject.id, tuple(references[start:end]), subject.voice_id))
        start = end
    if start != (len(references) if subjects else 0):
        raise BackendError(f"the subjects take {start} references, the task has {len(references)}")
    return tuple(groups)


def job_prompt(task: Task) -> str:
    """The prompt the backend follows. With ``is_rec`` the server writes the prompt from the
    pictures and ignores the client's; a backend that cannot describe pictures gets none (the
    compositor then moves by the pictures alone)."""
    return "" if task.spec.is_rec else task.spec.prompt


def effective_style(task: Task) -> str:
    """The look the backend renders: ``style`` as asked where the model's catalogue entry says it
    takes effect (viduq1, vidu1.5), else ``general`` (the field is echoed, and changes nothing)."""
    options = lookup(task.spec.kind, task.spec.model)
    return task.spec.style if options is not None and options.style_effective else "general"


def execute_task(
    task: Task,
    backend: GenerationBackend,
    files: FileStore,
    lease: TaskLease,
    scratch_root: Path | None = None,
) -> Creation:
    """Generate ``task``'s media and store it; returns the creation (not yet recorded as complete).

    Raises GenerationCancelled when the backend saw the lease's cancel flag; on any failure the
    task's output files are removed, so nothing partial is kept.
    """
    scratch = Path(tempfile.mkdtemp(prefix=f"task-{task.id}-", dir=scratch_root))
    try:
        references = []
        for i, key in enumerate(task.reference_keys):
            local = scratch / f"ref{i}{Path(key).suffix}"
            files.fetch(key, local)
            references.append(local)
        width, height = frame_size(task, references[0] if references else None)
        spec = task.spec
        job = GenerationJob(
            task_id=task.id,
            kind=spec.kind,
            model=spec.model,
            prompt=job_prompt(task),
            references=tuple(references),
            width=width,
            height=height,
            seed=spec.seed,
            duration=spec.duration or 0,
            fps=FPS,
            movement_amplitude=spec.movement_amplitude or "auto",
            bgm=spec.bgm,
            style=effective_style(task),
            audio=spec.audio,
            voice_id=spec.voice_id,
            subjects=subject_references(spec.subjects, references),
        )
        output = backend.generate(job, lease.report, lease)
        if spec.kind.makes_video:
            if not isinstance(output, VideoOutput):
                raise BackendError(f"backend {backend.name} returned no video")
            creation = _store_video(
                task, output, files, scratch, _watermark(task, files, scratch, width, height)
            )
        else:
            if not isinstance(output, ImageOutput):
                raise BackendError(f"backend {backend.name} returned no image")
            creation = _store_image(task, output, files, scratch)
        return creation
    except BaseException:
        files.delete_prefix(output_prefix(task))
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _watermark(task: Task, files: FileStore, scratch: Path, width: int, height: int) -> Watermark | None:
    if not task.spec.watermark:
        return None
    image = None
    if task.watermark_key:
        local = scratch / f"wm{Path(task.watermark_key).suffix}"
        files.fetch(task.watermark_key, local)
        # the mark is drawn far smaller than the frame: never decoded larger than the frame
        image = load_rgba(local, DecodeSize(contain=(width, height)))
    return Watermark(task.spec.wm_position, image)


def _store_video(
    task: Task, output: VideoOutput, files: FileStore, scratch: Path, watermark: Watermark | None
) -> Creation:
    video = scratch / "video.mp4"
    targets = [VideoTarget(video)]
    marked = scratch / "video-watermarked.mp4"
    if watermark is not None:
        targets.append(VideoTarget(marked, watermark.apply))
    first = encode_output(output, targets)
    cover = scratch / "cover.jpg"
    write_jpeg(first, cover)
    height, width = first.shape[:2]
    prefix = output_prefix(task)
    files.put_file(prefix + "video.mp4", video, "video/mp4")
    files.put_file(prefix + "cover.jpg", cover, "image/jpeg")
    if watermark is not None:
        files.put_file(prefix + "video-watermarked.mp4", marked, "video/mp4")
    return Creation(
        id=f"{task.id}-0",
        media_key=prefix + "video.mp4",
        cover_key=prefix + "cover.jpg",
        watermarked_key=prefix + "video-watermarked.mp4" if watermark is not None else None,
        width=width,
        height=height,
        duration=output.frame_count / output.fps,
        fps=output.fps,
    )


def _store_image(task: Task, output: ImageOutput, files: FileStore, scratch: Path) -> Creation:
    image = scratch / "image.png"
    write_png(output.image, image)
    height, width = output.image.shape[:2]
    key = output_prefix(task) + "image.png"
    files.put_file(key, image, "image/png")
    return Creation(
        id=f"{task.id}-0", media_key=key, cover_key=key, watermarked_key=None, width=width, height=height
    )
