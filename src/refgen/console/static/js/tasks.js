// The Tasks panel: the key's tasks (GET /ent/v2/tasks, the last 7 days), newest first, kept live
// by polling every second while any task is unfinished. Cards are updated in place, so a video that
// is playing keeps playing while the list refreshes around it.

import { ApiError } from "./api.js";
import { IMAGE } from "./catalogue.js";
import { byId, errorBox, fill, h } from "./dom.js";

const FAST_MS = 1000;
const IDLE_MS = 5000;
const FINISHED = new Set(["success", "failed"]);
const STATE_LABEL = { created: "Created", queueing: "Queued", processing: "Processing", success: "Done", failed: "Failed" };
const ERR_LABEL = {
  UserCancelled: "Cancelled",
  InternalServiceFailure: "Generation failed",
  QuotaExceeded: "Off-peak task expired (refunded)",
};

/**
 * @param {{api: ReturnType<import("./api.js").createApi>, onUnauthorized: () => void}} deps
 */
export function taskPanel({ api, onUnauthorized }) {
  const list = byId("task-list");
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
      render(tasks);
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

  function render(tasks) {
    const seen = new Set();
    tasks.forEach((task, i) => {
      seen.add(task.id);
      let card = cards.get(task.id);
      if (!card) {
        card = build(task);
        cards.set(task.id, card);
      }
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
    };
    parts.bar = h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": "progress" }, parts.fill);
    const kind = isVideo(task) ? "Video" : "Image";
    const specs = [isVideo(task) && task.duration ? `${task.duration} s` : null, task.resolution, task.aspect_ratio].filter(Boolean).join(" · ");
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
          h("span", { class: "task-kind muted" }, `${kind} · ${specs}`),
        ),
        h("p", { class: "task-prompt", title: task.prompt }, task.prompt),
        h("div", { class: "progress-row" }, parts.bar, parts.percent),
        h("div", { class: "task-meta" }, parts.time, h("span", { class: "dot" }, "·"), parts.credits, h("span", { class: "dot" }, "·"), h("code", { class: "task-id", title: "task id" }, task.id)),
        parts.note,
        parts.actions,
      ),
    );
    return { el, parts, task: null, mediaShown: false, cancelling: false };
  }

  function update(card, task) {
    const { parts } = card;
    const previous = card.task;
    card.task = task;
    card.el.dataset.state = task.state;
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
    fill(parts.actions, buttons);
  }

  function showMedia(card) {
    const { task, parts } = card;
    const creation = task.creations?.[0];
    if (!creation) return;
    let media;
    if (isVideo(task)) {
      media = h("video", { controls: true, playsinline: true, preload: "metadata", poster: creation.cover_url, src: creation.url });
      const size = creation.video?.resolution;
      if (size?.width && size?.height) media.style.aspectRatio = `${size.width} / ${size.height}`;
    } else {
      media = h("a", { href: creation.url, target: "_blank", rel: "noopener", class: "image-link" }, h("img", { src: creation.url, alt: task.prompt, loading: "lazy" }));
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
    /** A task was just created: show it at once and poll fast. */
    created() {
      refresh();
    },
  };
}
