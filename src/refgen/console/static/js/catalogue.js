// Reading the server's model catalogue (GET /ent/v2/models). Every option the console offers comes
// from here, and the price is computed exactly as the server computes it.

export const VIDEO = "reference2video";
export const IMAGE = "reference2image";
export const TEXT_TO_VIDEO = "text2video";
export const IMAGE_TO_VIDEO = "img2video";
export const START_END = "start-end2video";
/** The create endpoints, in the order of the kind tabs. */
export const KINDS = [VIDEO, TEXT_TO_VIDEO, IMAGE_TO_VIDEO, START_END, IMAGE];

/** Every kind but reference2image makes a video (and takes the video options). */
export function makesVideo(kind) {
  return kind !== IMAGE;
}

/** Models of one kind, in the catalogue's order: [{name, entry}]. */
export function modelsFor(catalogue, kind) {
  return Object.entries(catalogue[kind] ?? {}).map(([name, entry]) => ({ name, entry }));
}

/** The first served model of a kind (else the first at all). */
export function defaultModel(catalogue, kind) {
  const models = modelsFor(catalogue, kind);
  return (models.find((m) => m.entry.served) ?? models[0])?.name ?? null;
}

/** The durations a model offers, ascending (videos); [0] for images. */
export function durationsOf(entry) {
  return Object.keys(entry.durations)
    .map(Number)
    .sort((a, b) => a - b);
}

export function defaultDuration(entry, kind) {
  return makesVideo(kind) ? entry.default_duration : durationsOf(entry)[0];
}

/** What one duration allows: {resolutions, default_resolution, credits, credits_per_second}. */
export function durationOption(entry, duration) {
  return entry.durations[String(duration)];
}

/** Aspect ratios the model allows, with `auto` only when there is a picture to take it from. */
export function aspectRatiosOf(entry, imageCount) {
  return entry.aspect_ratios.map((value) => ({ value, enabled: value !== "auto" || imageCount > 0 }));
}

/**
 * What a task costs, as the server charges it: the duration's credits for the resolution, times the
 * seconds when priced per second; speech adds 2 (models that speak by default, the q3 ones, include
 * it in their rate), `is_rec` 1; off-peak halves it, rounded up.
 */
export function price(entry, kind, { duration, resolution, offPeak, audio = false, isRec = false }) {
  const video = makesVideo(kind);
  const option = durationOption(entry, video ? duration : durationsOf(entry)[0]);
  const unit = option.credits[resolution];
  const parts = [];
  let base = option.credits_per_second ? unit * duration : unit;
  if (option.credits_per_second) parts.push(`${unit} per second × ${duration} s`);
  if (audio && !entry.audio.default) {
    base += 2;
    parts.push("speech +2");
  }
  if (isRec) {
    base += 1;
    parts.push("prompt from the pictures +1");
  }
  const credits = video && offPeak ? Math.ceil(base / 2) : base;
  if (video && offPeak) parts.push(`off-peak: half of ${base}, rounded up`);
  return { credits, detail: parts.join(" · ") };
}

/** A short summary of a model for its picker: "1–10 s · 540p–1080p". */
export function summary(entry, kind) {
  const resolutions = [...new Set(durationsOf(entry).flatMap((d) => durationOption(entry, d).resolutions))];
  const span = resolutions.length > 1 ? `${resolutions[0]}–${resolutions.at(-1)}` : resolutions[0];
  if (!makesVideo(kind)) return `${span} · ${entry.images.min}–${entry.images.max} pictures`;
  const durations = durationsOf(entry);
  const seconds = durations.length > 2 ? `${durations[0]}–${durations.at(-1)} s` : `${durations.join(" or ")} s`;
  return `${seconds} · ${span}`;
}
