// A listed task as the request that makes it again: its settings (for "reuse these settings"), the
// create body, and that body as a curl command or a Python script (standard library only) to paste.
// The key is never written into a snippet: both read it from the REFGEN_API_KEY environment variable.

import { makesVideo } from "./catalogue.js";

/** The form's settings from a task of the list (GET /ent/v2/tasks). */
export function taskSettings(task) {
  return {
    kind: task.type,
    model: task.model,
    prompt: task.prompt,
    duration: task.duration || undefined,
    resolution: task.resolution,
    aspectRatio: task.aspect_ratio,
    amplitude: task.movement_amplitude || undefined,
    bgm: task.bgm,
    offPeak: task.off_peak,
    watermark: task.watermark,
    style: task.style,
    audio: task.audio,
    isRec: task.is_rec,
    seed: String(task.seed),
  };
}

/** The create body that asks for the same task again, with `images` (URLs or data URLs). */
export function createBody(task, images) {
  const body = { model: task.model };
  if (images.length) body.images = images;
  Object.assign(body, { prompt: task.prompt, resolution: task.resolution, seed: task.seed });
  if (task.aspect_ratio && !["img2video", "start-end2video"].includes(task.type)) body.aspect_ratio = task.aspect_ratio;
  if (task.type === "text2video") body.style = task.style;
  if (task.audio) body.audio = true;
  if (task.is_rec) body.is_rec = true;
  if (makesVideo(task.type)) {
    Object.assign(body, { duration: task.duration, movement_amplitude: task.movement_amplitude, bgm: task.bgm });
    if (task.off_peak) body.off_peak = true;
    if (task.watermark) body.watermark = true;
  }
  return body;
}

/** Each listed reference as something the server can read from anywhere: links to this server's own
 * files (which its outbound guard would refuse to fetch) are read here and inlined as data URLs. */
export async function portableImages(task) {
  return Promise.all((task.images ?? []).map((url) => (sameOrigin(url) ? dataUrl(url) : url)));
}

function sameOrigin(url) {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

async function dataUrl(url) {
  const blob = await (await fetch(url)).blob();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function endpoint(kind) {
  return new URL(`ent/v2/${kind}`, location.href).href;
}

/** A shell command (the body as a here-document: no quoting, no length limit). */
export function curlSnippet(kind, body) {
  return [
    `curl -sS -X POST '${endpoint(kind)}' \\`,
    `  -H "Authorization: Token $REFGEN_API_KEY" \\`,
    "  -H 'Content-Type: application/json' \\",
    "  --data-binary @- <<'JSON'",
    JSON.stringify(body, null, 2),
    "JSON",
  ].join("\n");
}

/** A Python script using only the standard library. The JSON sits in a raw triple-quoted string,
 * which no JSON text can end early (its quotes inside strings are always escaped). */
export function pythonSnippet(kind, body) {
  return [
    "import json",
    "import os",
    "import urllib.request",
    "",
    `body = json.loads(r"""${JSON.stringify(body, null, 2)}""")`,
    "request = urllib.request.Request(",
    `    "${endpoint(kind)}",`,
    '    data=json.dumps(body).encode(),',
    '    headers={"Authorization": "Token " + os.environ["REFGEN_API_KEY"], "Content-Type": "application/json"},',
    ")",
    "with urllib.request.urlopen(request) as response:",
    "    print(response.read().decode())",
  ].join("\n");
}
