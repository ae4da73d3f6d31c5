// Checking a picture in the browser against the rules the server enforces (refgen/media/images.py),
// in the same order and with the same reasons and messages, so a picture refused here would be
// refused there with the same words. The numbers come from the server (/console/limits.json).
//
// Order, as on the server: decoded data URL size, file size, magic bytes, header dimensions (no
// pixels decoded), pixel budget, minimum side, aspect ratio, then a full decode.

const MIB = 1024 * 1024;
const MIME = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" };

/**
 * A refusal: the server's `reason`, and its message for the field the picture is sent as
 * (`images[2]`, `wm_url`); the field can change when pictures are reordered.
 * @typedef {{reason: string, message: (field: string) => string}} Problem
 */

/** @returns {"png" | "jpeg" | "webp" | null} */
export function sniffFormat(bytes) {
  const starts = (...sig) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (starts(0xff, 0xd8, 0xff)) return "jpeg";
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "webp";
  return null;
}

function ascii(bytes, start, end) {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** Width and height from the header, without decoding pixels; null when the header is unreadable. */
export function headerSize(bytes, format) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (format === "png") {
      if (ascii(bytes, 12, 16) !== "IHDR") return null;
      return { width: view.getUint32(16), height: view.getUint32(20) };
    }
    if (format === "jpeg") return jpegSize(bytes, view);
    if (format === "webp") return webpSize(bytes, view);
  } catch {
    return null; // read past the end: truncated header
  }
  return null;
}

function jpegSize(bytes, view) {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    const length = view.getUint16(at + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    if (marker === 0xd9 || marker === 0xda) return null; // image data before any frame header
    at += 2 + length;
  }
  return null;
}

function webpSize(bytes, view) {
  const chunk = ascii(bytes, 12, 16);
  if (chunk === "VP8 ") {
    if (bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) return null;
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  }
  if (chunk === "VP8L") {
    if (bytes[20] !== 0x2f) return null;
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    const u24 = (i) => bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16);
    return { width: u24(24) + 1, height: u24(27) + 1 };
  }
  return null;
}

const sizeProblem = (what, limit) => ({
  reason: "PageSizeOutOfRange",
  message: (f) => `${what} is larger than ${Math.floor(limit / MIB)} MB: ${f}`,
});

/**
 * Check one picture. Resolves to {format, width, height, dataUrl} or {problem}.
 * @param {File} file
 * @param {{min_side: number, max_aspect: number, max_pixels: number, max_bytes: number, max_data_url_bytes: number}} limits
 */
export async function checkPicture(file, limits) {
  // Sent as a data URL, so the decoded data URL limit applies first (as parse_data_url does).
  if (file.size > limits.max_data_url_bytes) return { problem: sizeProblem("decoded data URL", limits.max_data_url_bytes) };
  if (file.size > limits.max_bytes) return { problem: sizeProblem("image", limits.max_bytes) };
  if (file.size === 0) return { problem: { reason: "ImageFormatInvalid", message: (f) => `image data URL is empty: ${f}` } };
  const bytes = new Uint8Array(await file.arrayBuffer());
  const format = sniffFormat(bytes);
  if (format === null) {
    return { problem: { reason: "ImageFormatInvalid", message: (f) => `image format is invalid, use PNG, JPEG or WebP: ${f}` } };
  }
  const size = headerSize(bytes, format);
  if (size === null) {
    return { format, problem: { reason: "ImageFormatInvalid", message: (f) => `image data is not a readable ${format.toUpperCase()}: ${f}` } };
  }
  const { width, height } = size;
  const found = { format, width, height };
  if (width <= 0 || height <= 0) return { ...found, problem: { reason: "ImageFormatInvalid", message: (f) => `image has no pixels: ${f}` } };
  if (width * height > limits.max_pixels) {
    const mp = Math.floor(limits.max_pixels / 1_000_000);
    return { ...found, problem: { reason: "PageSizeOutOfRange", message: (f) => `image declares ${width}x${height} pixels, over ${mp} megapixels: ${f}` } };
  }
  if (Math.min(width, height) < limits.min_side) {
    return {
      ...found,
      problem: { reason: "PageSizeOutOfRange", message: (f) => `image is ${width}x${height}, each side must be at least ${limits.min_side} px: ${f}` },
    };
  }
  if (Math.max(width, height) > limits.max_aspect * Math.min(width, height)) {
    const r = Number(limits.max_aspect);
    return {
      ...found,
      problem: { reason: "PageSizeOutOfRange", message: (f) => `image aspect ratio ${width}:${height} is outside 1:${r} to ${r}:1: ${f}` },
    };
  }
  const blob = new Blob([bytes], { type: MIME[format] });
  try {
    const bitmap = await createImageBitmap(blob);
    bitmap.close();
  } catch {
    return { ...found, problem: { reason: "ImageFormatInvalid", message: (f) => `image data is truncated or corrupt: ${f}` } };
  }
  return { ...found, dataUrl: await readDataUrl(blob) };
}

function readDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** "1.2 MB", "830 KB" */
export function formatBytes(n) {
  if (n >= MIB) return `${(n / MIB).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}
