// The Tasks panel: the key's tasks (GET /ent/v2/tasks, the last 7 days), newest first, kept live
// by polling every second while any task is unfinished. Cards are updated in place, so a video that
// is playing keeps playing while the list refreshes around it.

import { ApiError } from "./api.js";
import { IMAGE } from "./catalogue.js";
import { byId, errorBox, fill, h } from "./dom.js";
import { createBody, curlSnippet, portableImages, pythonSnippet, taskSettings } from "./snippets.js";

const FAST_MS = 1000;
const IDLE_MS = 5000;
const FINISHED = new Set(["success", "failed"]);
const STATE_LABEL = { created: "Created", queueing: "Queued", processing: "Processing", success: "Done", failed: "Failed" };
const AMPLITUDE_LABEL = { auto: "auto", small: "small", medium: "medium", large: "large" };
const ERR_LABEL = {
  UserCancelled: "Cancelled",
  InternalServiceFailure: "Generation failed",
  QuotaExceeded: "Off-peak task expired (refunded)",
};

/**
 * @param {{api: ReturnType<import("./api.js").createApi>, onUnauthorized: () => void,
 *          onReuse: (settings: any) => void, onChange: () => void, backendOf: (task: any) => string}} deps
 */
export function taskPanel({ api, onUnauthorized, onReuse, onChange, backendOf }) {
  const list = byId("task-list");
  const announcer = byId("announcer");
  /** A task just created: scrolled into view as soon as its card exists. */
  let reveal = "";
  const empty = byId("tasks-empty");
  const live = byId("live");
  const problem = byId("tasks-problem");
  /** @type {Map<string, {el: HTMLElement, parts: any, task: any}>} */
  const cards = new Map();
  let timer = 0;
  let stopped = true;
  let inFlight = false;
  let again = false;

  async function refresh() {
    if (inFlight) {
      again = true; // asked while a poll is running: poll once more when it is done
      return;
    }
    inFlight = true;
    clearTimeout(timer);
    let unfinished = false;
    try {
      const { tasks } = await api.listTasks(50);
      fill(problem);
      if (stopped) return; // signed out while the list was on its way
      if (render(tasks)) onChange();
      unfinished = tasks.some((t) => !FINISHED.has(t.state));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) {
        onUnauthorized();
        return;
      }
      fill(problem, errorBox(error, "Could not load the task list"));
    } finally {
      inFlight = false;
    }
    live.classList.toggle("active", unfinished);
    live.textContent = unfinished ? "Live" : "Up to date";
    if (stopped) return;
    const delay = again ? 0 : unfinished ? FAST_MS : IDLE_MS;
    again = false;
    timer = window.setTimeout(refresh, delay);
  }

  /** Show the list; true when a task appeared, went or changed state. */
  function render(tasks) {
    const seen = new Set();
    let changed = tasks.length !== cards.size;
    tasks.forEach((task, i) => {
      seen.add(task.id);
      let card = cards.get(task.id);
      if (!card) {
        card = build(task);
        cards.set(task.id, card);
      }
      if (card.task?.state !== task.state) changed = true;
      if (card.task && !FINISHED.has(card.task.state) && FINISHED.has(task.state)) announce(task);
      update(card, task);
      if (list.children[i] !== card.el) list.insertBefore(card.el, list.children[i] ?? null);
    });
    for (const [id, card] of cards) {
      if (!seen.has(id)) {
        card.el.remove();
        cards.delete(id);
      }
    }
    empty.hidden = tasks.length > 0;
    const fresh = reveal && cards.get(reveal);
    if (fresh) {
      reveal = "";
      // side by side (desktop), the list scrolls to the new card; stacked (phone), the form stays
      if (window.matchMedia("(min-width: 1021px)").matches) fresh.el.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
    return changed;
  }

  function announce(task) {
    const what = isVideo(task) ? "Video" : "Image";
    const outcome = task.state === "success" ? "is ready" : `failed (${ERR_LABEL[task.err_code] ?? task.err_code})`;
    announcer.textContent = `${what} task ${task.id.slice(0, 8)} ${outcome}: ${task.prompt.slice(0, 80)}`;
  }

  function build(task) {
    const parts = {
      media: h("div", { class: "task-media" }),
      badge: h("span", { class: "badge" }),
      fill: h("div", { class: "progress-fill" }),
      percent: h("span", { class: "progress-label" }),
      time: h("time", { class: "task-time" }),
      credits: h("span", { class: "task-credits" }),
      actions: h("div", { class: "task-actions" }),
      note: h("div", { class: "task-note" }),
      specs: h("span", { class: "task-kind muted" }),
      copied: h("span", { class: "copied", role: "status" }),
      snippet: h("div", { class: "snippet" }),
    };
    parts.bar = h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": "progress" }, parts.fill);
    const backend = backendOf(task);
    const el = h(
      "li",
      { class: "task", id: `task-${task.id}`, data: { taskId: task.id } },
      parts.media,
      h(
        "div",
        { class: "task-body" },
        h(
          "div",
          { class: "task-head" },
          parts.badge,
          h("span", { class: "task-model" }, task.model),
          parts.specs,
        ),
        h("p", { class: "task-prompt", title: task.prompt }, task.prompt),
        h("p", { class: "task-options muted" }, options(task)),
        references(task),
        backend === "compositor"
          ? h("p", { class: "hint backend-note" }, "Made by the compositor (pictures laid out and animated), not by a neural model.")
          : null,
        h("div", { class: "progress-row" }, parts.bar, parts.percent),
        h("div", { class: "task-meta" }, parts.time, h("span", { class: "dot" }, "·"), parts.credits, h("span", { class: "dot" }, "·"), h("code", { class: "task-id", title: "task id" }, task.id)),
        parts.note,
        parts.actions,
        parts.copied,
        parts.snippet,
      ),
    );
    return { el, parts, task: null, mediaShown: false, cancelling: false };
  }

  function update(card, task) {
    const { parts } = card;
    const previous = card.task;
    card.task = task;
    card.el.dataset.state = task.state;
    const ratio = realRatio(task);
    parts.specs.textContent = [isVideo(task) ? "Video" : "Image", isVideo(task) && task.duration ? `${task.duration} s` : null, task.resolution, ratio].filter(Boolean).join(" · ");
    if (ratio) card.el.dataset.ratio = ratio;
    parts.badge.className = `badge state-${task.state}`;
    parts.badge.textContent = task.state === "failed" && task.err_code === "UserCancelled" ? "Cancelled" : STATE_LABEL[task.state] ?? task.state;
    const progress = task.state === "success" ? 100 : Math.max(0, Math.min(100, Number(task.progress) || 0));
    parts.fill.style.width = `${progress}%`;
    parts.bar.setAttribute("aria-valuenow", String(progress));
    parts.bar.classList.toggle("running", task.state === "processing");
    parts.bar.classList.toggle("waiting", task.state === "created" || task.state === "queueing");
    parts.percent.textContent = task.state === "failed" ? "—" : `${progress}%`;
    const created = new Date(task.created_at);
    parts.time.dateTime = task.created_at;
    parts.time.title = created.toLocaleString();
    parts.time.textContent = ago(created);
    parts.credits.textContent = `${task.credits} credit${task.credits === 1 ? "" : "s"}`;

    if (task.state === "failed") {
      fill(parts.note, h("span", { class: "err-code" }, h("code", null, task.err_code), " ", ERR_LABEL[task.err_code] ?? ""));
    }
    if (!previous || previous.state !== task.state) renderActions(card);
    if (task.state === "success" && !card.mediaShown) {
      card.mediaShown = true;
      showMedia(card);
    } else if (!card.mediaShown && (!previous || previous.state !== task.state)) {
      const label = task.state === "failed" ? ERR_LABEL[task.err_code] ?? "Failed" : STATE_LABEL[task.state] ?? task.state;
      fill(parts.media, h("div", { class: `media-placeholder ${isVideo(task) ? "video" : "image"}` }, h("span", null, label)));
    }
  }

  function renderActions(card) {
    const { task, parts } = card;
    const buttons = [];
    if (!FINISHED.has(task.state)) {
      buttons.push(
        h("button", { type: "button", class: "btn small danger-outline", disabled: card.cancelling, onclick: () => cancel(card) }, card.cancelling ? "Cancelling…" : "Cancel"),
      );
    }
    const creation = task.creations?.[0];
    if (task.state === "success" && creation) {
      const ext = isVideo(task) ? "mp4" : "png";
      buttons.push(h("a", { class: "btn small primary-outline", href: creation.url, download: `refgen-${task.id}.${ext}`, data: { download: "file" } }, "Download"));
      if (creation.watermarked_url) {
        buttons.push(
          h("a", { class: "btn small", href: creation.watermarked_url, download: `refgen-${task.id}-watermarked.${ext}`, data: { download: "watermarked" } }, "Download watermarked"),
        );
      }
    }
    buttons.push(
      h("button", { type: "button", class: "btn small", data: { action: "reuse" }, onclick: () => onReuse(taskSettings(task)) }, "Reuse these settings"),
      h("button", { type: "button", class: "btn small ghost", data: { action: "curl" }, onclick: () => copy(card, "curl") }, "Copy as curl"),
      h("button", { type: "button", class: "btn small ghost", data: { action: "python" }, onclick: () => copy(card, "python") }, "Copy as Python"),
    );
    fill(parts.actions, buttons);
  }

  async function copy(card, language) {
    const { task, parts } = card;
    const body = createBody(task, await portableImages(task));
    const text = language === "curl" ? curlSnippet(task.type, body) : pythonSnippet(task.type, body);
    const label = language === "curl" ? "curl command" : "Python script";
    try {
      await navigator.clipboard.writeText(text);
      fill(parts.snippet);
      parts.copied.textContent = `Copied the ${label} (it reads the key from REFGEN_API_KEY).`;
    } catch {
      // no clipboard (a page not on https or localhost): show the text to copy by hand
      parts.copied.textContent = `The ${label}, to copy (it reads the key from REFGEN_API_KEY):`;
      const area = h("textarea", { class: "snippet-text", readonly: true, rows: 8, "aria-label": `${label} for task ${task.id}` });
      /** @type {HTMLTextAreaElement} */ (area).value = text;
      fill(parts.snippet, area);
      /** @type {HTMLTextAreaElement} */ (area).select();
    }
  }

  /** The options a card shows beside the specs: movement, music, seed and the rest that was asked. */
  function options(task) {
    const out = [];
    if (isVideo(task)) {
      out.push(`movement ${AMPLITUDE_LABEL[task.movement_amplitude] ?? task.movement_amplitude}`);
      out.push(task.bgm ? "music on" : "no music");
    }
    if (task.type === "text2video" && task.style) out.push(`style ${task.style}`);
    if (task.audio) out.push("speech");
    if (task.is_rec) out.push("prompt from the pictures");
    if (task.off_peak) out.push("off-peak");
    if (task.watermark) out.push("watermark");
    out.push(`seed ${task.seed}`);
    return out.join(" · ");
  }

  /** The reference pictures, small (a link to each one as stored). */
  function references(task) {
    const images = task.images ?? [];
    if (!images.length) return null;
    return h(
      "ul",
      { class: "task-refs", "aria-label": `${images.length} reference picture${images.length === 1 ? "" : "s"}` },
      images.map((url, i) =>
        h("li", null, h("a", { href: url, target: "_blank", rel: "noopener" }, h("img", { src: smallCover(url), alt: `Reference ${i + 1}`, loading: "lazy", width: 40, height: 40 }))),
      ),
    );
  }

  /** The ratio made: the task's own, or (for `auto`) the one of the file it produced. */
  function realRatio(task) {
    if (task.aspect_ratio !== "auto") return task.aspect_ratio;
    const size = task.creations?.[0]?.video?.resolution;
    return size?.width ? reduced(size.width, size.height) : "";
  }

  function showMedia(card) {
    const { task, parts } = card;
    const creation = task.creations?.[0];
    if (!creation) return;
    let media;
    if (isVideo(task)) {
      media = h("video", { controls: true, playsinline: true, preload: "metadata", poster: smallCover(creation.cover_url), src: creation.url, "aria-label": `Video: ${task.prompt.slice(0, 80)}` });
      const size = creation.video?.resolution;
      if (size?.width && size?.height) media.style.aspectRatio = `${size.width} / ${size.height}`;
    } else {
      const img = h("img", { src: smallCover(creation.cover_url || creation.url), alt: task.prompt, loading: "lazy" });
      img.addEventListener("load", () => {
        // an `auto` image takes its ratio from the pictures: say which one it got
        if (task.aspect_ratio !== "auto" || !img.naturalWidth) return;
        card.el.dataset.ratio = reduced(img.naturalWidth, img.naturalHeight);
        parts.specs.textContent = ["Image", task.resolution, card.el.dataset.ratio].join(" · ");
      });
      media = h("a", { href: creation.url, target: "_blank", rel: "noopener", class: "image-link" }, img);
    }
    fill(parts.media, media);
  }

  async function cancel(card) {
    card.cancelling = true;
    renderActions(card);
    try {
      await api.cancel(card.task.id);
      fill(card.parts.note);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) return onUnauthorized();
      fill(card.parts.note, errorBox(error, "Could not cancel"));
    } finally {
      card.cancelling = false;
    }
    await refresh();
    renderActions(card);
  }

  /** A small JPEG of a picture this server serves (`/covers/…`, same signature as `/files/…`);
   * links of another store (S3) are used as they are. */
  function smallCover(url) {
    try {
      const link = new URL(url, location.href);
      const at = link.pathname.indexOf("/files/");
      if (link.origin !== location.origin || at < 0) return url;
      link.pathname = `${link.pathname.slice(0, at)}/covers/${link.pathname.slice(at + "/files/".length)}`;
      return link.href;
    } catch {
      return url;
    }
  }

  function reduced(width, height) {
    const gcd = (a, b) => (b ? gcd(b, a % b) : a);
    const d = gcd(width, height) || 1;
    return `${width / d}:${height / d}`;
  }

  /** Every task type but reference2image makes a video (text2video, img2video, ...). */
  function isVideo(task) {
    return task.type !== IMAGE;
  }

  function ago(date) {
    const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    if (seconds < 5) return "just now";
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return date.toLocaleDateString();
  }

  return {
    start() {
      stopped = false;
      refresh();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      for (const card of cards.values()) card.el.remove();
      cards.clear();
    },
    /** A task was just created: show it at once (scrolled into view) and poll fast. */
    created(task) {
      reveal = task?.task_id ?? "";
      refresh();
    },
  };
}
