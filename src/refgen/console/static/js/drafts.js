// Drafts: what a key was writing (kind, model, prompt, options; not the pictures, which can be
// megabytes), kept in local storage so a reload or a new tab gives it back. Each key has its own
// slot, named by a short hash of the key (never the key itself); signing out deletes that slot.

const PREFIX = "refgen.draft.";

/** A short, stable, non-reversible name for a key's slot (FNV-1a, 32 bits). */
export function draftSlot(key) {
  let hash = 0x811c9dc5;
  for (const ch of key) {
    hash ^= ch.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return PREFIX + hash.toString(16).padStart(8, "0");
}

export function loadDraft(slot) {
  try {
    const text = localStorage.getItem(slot);
    const draft = text ? JSON.parse(text) : null;
    return draft && typeof draft === "object" ? draft : null;
  } catch {
    return null;
  }
}

export function saveDraft(slot, draft) {
  try {
    localStorage.setItem(slot, JSON.stringify(draft));
  } catch {
    // storage full or disabled: the draft is simply not kept
  }
}

export function forgetDraft(slot) {
  try {
    localStorage.removeItem(slot);
  } catch {
    // nothing to forget
  }
}
