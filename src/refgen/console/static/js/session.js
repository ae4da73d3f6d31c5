// The API key lives in this tab's session storage only: never in local storage or a cookie.

const SLOT = "refgen.apiKey";

export function savedKey() {
  try {
    return sessionStorage.getItem(SLOT);
  } catch {
    return null;
  }
}

export function saveKey(key) {
  sessionStorage.setItem(SLOT, key);
}

export function forgetKey() {
  sessionStorage.removeItem(SLOT);
}

/** The key as shown on screen: enough to tell two keys apart, never the whole secret. */
export function maskKey(key) {
  return key.length <= 8 ? "••••" : `${key.slice(0, 4)}…${key.slice(-4)}`;
}
