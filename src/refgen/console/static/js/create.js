// The Create panel: kind, model, pictures, prompt, every option the chosen model allows (read from
// the catalogue), the price, and submission. Nothing is offered that the server would refuse: each
// control lists only allowed values, and whatever is still wrong (a refused picture, a long prompt)
// is named with the server's own reason and message and keeps the button disabled.

import { ApiError } from "./api.js";
import {
  IMAGE,
  IMAGE_TO_VIDEO,
  KINDS,
  START_END,
  TEXT_TO_VIDEO,
  VIDEO,
  aspectRatiosOf,
  defaultDuration,
  defaultModel,
  durationOption,
  durationsOf,
  makesVideo,
  modelsFor,
  price,
  summary,
} from "./catalogue.js";
import { byId, errorBox, fill, h, svg } from "./dom.js";
import { forgetDraft, loadDraft, saveDraft } from "./drafts.js";
import { checkPicture, formatBytes } from "./images.js";

const KIND_LABEL = {
  [VIDEO]: "Reference → Video",
  [TEXT_TO_VIDEO]: "Text → Video",
  [IMAGE_TO_VIDEO]: "Image → Video",
  [START_END]: "Start–end",
  [IMAGE]: "Reference → Image",
};
const FRAME_LABELS = { [IMAGE_TO_VIDEO]: ["First frame"], [START_END]: ["Start", "End"] };
const STYLE_LABEL = { general: "General", anime: "Anime" };
const AMPLITUDE_LABEL = { auto: "Auto", small: "Small", medium: "Medium", large: "Large" };
const WM_LABEL = { 1: "Top left", 2: "Top right", 3: "Bottom right", 4: "Bottom left" };
/** What the prompt box suggests for each kind (only videos talk about the camera). */
const PLACEHOLDER = {
  [VIDEO]: "What happens: who does what, where, and how the camera moves",
  [TEXT_TO_VIDEO]: "What happens: the scene, who does what, and how the camera moves",
  [IMAGE_TO_VIDEO]: "How the picture comes to life: what moves, and how the camera moves (optional)",
  [START_END]: "How the start frame turns into the end frame (optional)",
  [IMAGE]: "The picture to make: who, where, the light and the style",
};
/** The settings a draft keeps, and "reuse these settings" restores (the pictures are not kept). */
const SETTINGS = [
  "prompt", "duration", "resolution", "aspectRatio", "amplitude", "bgm", "audio", "style", "isRec",
  "useSubjects", "offPeak", "watermark", "wmPosition", "seed", "callbackUrl", "payload", "metaData",
];
const BACKEND_NOTE = {
  compositor: "served here by the compositor: it cuts out, lays out and animates your pictures with a seeded camera; it is not a neural model.",
};

let nextId = 1;

/**
 * @param {{api: ReturnType<import("./api.js").createApi>, catalogue: any, limits: any,
 *          onCreated: (task: any) => void, onUnauthorized: () => void}} deps
 */
export function createPanel({ api, catalogue, limits, onCreated, onUnauthorized }) {
  const freshState = () => ({
    kind: VIDEO,
    model: /** @type {string | null} */ (null),
    pictures: /** @type {Array<any>} */ ([]),
    prompt: "",
    duration: 0,
    resolution: "",
    aspectRatio: "",
    amplitude: "auto",
    bgm: false,
    audio: false,
    style: "",
    isRec: false,
    useSubjects: false,
    offPeak: false,
    watermark: false,
    wmPosition: limits.default_wm_position,
    wmPicture: /** @type {any} */ (null),
    seed: "",
    callbackUrl: "",
    payload: "",
    metaData: "",
    submitting: false,
  });
  const state = freshState();
  let dragIndex = -1;
  /** This key's draft slot in local storage (null while signed out). */
  let slot = /** @type {string | null} */ (null);
  /** The key's credits left (null: not known yet). */
  let balance = /** @type {number | null} */ (null);
  /** True right after a task was created: the next change to the form clears the "created" note. */
  let justCreated = false;

  const els = {
    kinds: byId("kind-switch"),
    models: byId("model-control"),
    dropzone: byId("dropzone"),
    fileInput: /** @type {HTMLInputElement} */ (byId("file-input")),
    thumbs: byId("thumbs"),
    imagesLabel: byId("images-label"),
    dropHint: byId("drop-hint"),
    prompt: /** @type {HTMLTextAreaElement} */ (byId("prompt")),
    promptCount: byId("prompt-count"),
    options: byId("options"),
    advanced: byId("advanced-fields"),
    price: byId("price"),
    priceDetail: byId("price-detail"),
    submit: /** @type {HTMLButtonElement} */ (byId("submit")),
    blockers: byId("blockers"),
    outcome: byId("create-outcome"),
    form: byId("create-form"),
    hints: byId("subject-hints"),
    balance: byId("balance"),
  };
  els.imagesField = /** @type {HTMLElement} */ (els.dropzone.closest('[data-control="images"]'));

  const entry = () => catalogue[state.kind][state.model];

  // --- choosing a kind and a model resets the options to that model's defaults ----------------------

  function setKind(kind) {
    state.kind = kind;
    setModel(defaultModel(catalogue, kind));
  }

  function setModel(model) {
    state.model = model;
    resetOptions();
    render();
  }

  function resetOptions() {
    const e = entry();
    state.duration = defaultDuration(e, state.kind);
    state.resolution = durationOption(e, state.duration).default_resolution;
    state.aspectRatio = e.default_aspect_ratio;
    state.amplitude = "auto";
    state.audio = e.audio.available && e.audio.default && e.speaks;
    state.style = e.styles[0] ?? "";
    state.isRec = false;
  }

  function setDuration(duration) {
    state.duration = duration;
    const option = durationOption(entry(), duration);
    if (!option.resolutions.includes(state.resolution)) state.resolution = option.default_resolution;
    render();
  }

  /** Keep every choice allowed after something else changed (e.g. `auto` needs a picture). */
  function normalize() {
    const e = entry();
    const ratios = aspectRatiosOf(e, state.pictures.length);
    if (!ratios.some((r) => r.value === state.aspectRatio && r.enabled)) state.aspectRatio = e.default_aspect_ratio;
    if (!e.subjects) state.useSubjects = false;
    if (!e.audio.available || !e.speaks) state.audio = false;
    if (!e.is_rec) state.isRec = false;
  }

  /** The subjects form's groups: pictures with the same id, in the order the ids first appear. */
  function subjectGroups() {
    const groups = new Map();
    for (const p of state.pictures) {
      const id = p.subject.trim();
      if (!groups.has(id)) groups.set(id, []);
      groups.get(id).push(p);
    }
    return [...groups].map(([id, pictures]) => ({ id, pictures }));
  }

  /** Where the server would name a picture: `images[i]`, or `subjects[s].images[j]`. */
  function pictureField(picture, index) {
    if (!state.useSubjects) return `images[${index}]`;
    const groups = subjectGroups();
    const s = groups.findIndex((g) => g.pictures.includes(picture));
    return `subjects[${s}].images[${groups[s].pictures.indexOf(picture)}]`;
  }

  function promptMax(e) {
    return state.useSubjects ? e.subjects.prompt_max : e.prompt_max;
  }

  // --- pictures -----------------------------------------------------------------------------

  function addFiles(files) {
    for (const file of files) {
      const picture = { id: nextId++, file, url: URL.createObjectURL(file), result: null, subject: String(state.pictures.length + 1) };
      state.pictures.push(picture);
      checkPicture(file, limits.images).then(
        (result) => {
          picture.result = result;
          render();
        },
        () => {
          picture.result = { problem: { reason: "ImageFormatInvalid", message: (f) => `image could not be read: ${f}` } };
          render();
        },
      );
    }
    render();
  }

  function removePicture(index) {
    const [gone] = state.pictures.splice(index, 1);
    URL.revokeObjectURL(gone.url);
    render();
  }

  function movePicture(from, to) {
    if (to < 0 || to >= state.pictures.length || from === to) return;
    const [moved] = state.pictures.splice(from, 1);
    state.pictures.splice(to, 0, moved);
    render();
    const buttons = els.thumbs.querySelectorAll(".thumb")[to]?.querySelectorAll("button");
    /** @type {HTMLElement | undefined} */ (buttons?.[from < to ? 1 : 0])?.focus();
  }

  function setWatermarkPicture(file) {
    if (state.wmPicture) URL.revokeObjectURL(state.wmPicture.url);
    state.wmPicture = null;
    if (file) {
      const picture = { id: nextId++, file, url: URL.createObjectURL(file), result: null };
      state.wmPicture = picture;
      checkPicture(file, limits.images).then((result) => {
        picture.result = result;
        render();
      });
    }
    render();
  }

  // --- what stands between the form and a task the server accepts -----------------------------

  function blockers() {
    const e = entry();
    const out = [];
    const n = state.pictures.length;
    if (!e.served) out.push({ reason: "ModelUnavailable", message: `model ${state.model} is not served by this deployment` });
    const cost = currentPrice().credits;
    if (balance !== null && cost > balance) {
      out.push({ reason: "CreditInsufficient", message: `this task costs ${plural(cost, "credit")}; this key has ${balance} left` });
    }
    if (state.useSubjects) out.push(...subjectBlockers(e));
    else if (n === 0 && e.images.min > 0) {
      out.push(
        makesVideo(state.kind)
          ? { reason: "FieldLacking", message: "field is missing or empty: images", pending: true }
          : { reason: "FieldItemCountOutOfRange", message: `field item count out of range: images (${state.model} takes ${e.images.min} to ${e.images.max})`, pending: true },
      );
    } else if (n > e.images.max || n < e.images.min) {
      out.push({
        reason: "FieldItemCountOutOfRange",
        message: `field item count out of range: images (${state.model} takes ${e.images.min} to ${e.images.max}, got ${n})`,
      });
    }
    const checking = state.pictures.filter((p) => !p.result).length + (state.wmPicture && !state.wmPicture.result ? 1 : 0);
    if (checking) out.push({ reason: "", message: `checking ${checking} picture${checking > 1 ? "s" : ""}…`, pending: true });
    state.pictures.forEach((p, i) => {
      if (p.result?.problem) out.push({ reason: p.result.problem.reason, message: p.result.problem.message(pictureField(p, i)) });
    });
    if (state.wmPicture?.result?.problem && makesVideo(state.kind) && state.watermark) {
      out.push({ reason: state.wmPicture.result.problem.reason, message: state.wmPicture.result.problem.message("wm_url") });
    }
    const length = [...state.prompt].length;
    const max = promptMax(e);
    if (!state.prompt.trim() && e.prompt_required && !state.isRec) {
      out.push({ reason: "FieldLacking", message: "field is missing or empty: prompt", pending: true });
    } else if (length > max) {
      out.push({ reason: "FieldInvalid", message: `invalid field: prompt (${state.model} takes at most ${max} characters, got ${length})` });
    }
    if (state.audio && state.offPeak && !e.audio.default) {
      out.push({ reason: "FieldInvalid", message: "invalid field: off_peak (speech cannot be made off-peak)" });
    }
    const seed = state.seed.trim();
    if (seed && (!/^\d+$/.test(seed) || Number(seed) > limits.seed_max)) {
      out.push({ reason: "FieldInvalid", message: `invalid field: seed (0 to ${limits.seed_max})` });
    }
    const callback = state.callbackUrl.trim();
    if (callback && !isHttpUrl(callback)) {
      out.push({ reason: "FieldInvalid", message: "invalid field: callback_url (must be an http or https URL)" });
    }
    if ([...state.payload].length > limits.payload_max) {
      out.push({ reason: "FieldInvalid", message: `invalid field: payload (at most ${limits.payload_max} characters)` });
    }
    if (estimatedBodyBytes() > limits.max_body_bytes) {
      out.push({ reason: "BadRequest", message: `request body is larger than ${Math.floor(limits.max_body_bytes / 1048576)} MB` });
    }
    return out;
  }

  function subjectBlockers(e) {
    const limit = e.subjects;
    const out = [];
    const n = state.pictures.length;
    if (n === 0) return [{ reason: "FieldLacking", message: "field is missing or empty: subjects", pending: true }];
    const groups = subjectGroups();
    groups.forEach((g, i) => {
      if (!g.id || /[\s@]/.test(g.id) || [...g.id].length > limit.id_max) {
        out.push({ reason: "FieldInvalid", message: `invalid field: subjects[${i}].id (1 to ${limit.id_max} characters, no spaces, no @)` });
      }
      if (g.pictures.length > limit.images_max) {
        out.push({ reason: "FieldItemCountOutOfRange", message: `field item count out of range: subjects[${i}].images (1 to ${limit.images_max}, got ${g.pictures.length})` });
      }
    });
    if (groups.length > limit.max || n > limit.images_in_all_max) {
      out.push({
        reason: "FieldItemCountOutOfRange",
        message: `field item count out of range: subjects (up to ${limit.max} subjects and ${limit.images_in_all_max} pictures in all, got ${groups.length} and ${n})`,
      });
    }
    return out;
  }

  function estimatedBodyBytes() {
    const encoder = new TextEncoder();
    let size = 4096 + encoder.encode(state.prompt + state.payload + state.metaData + state.callbackUrl).length;
    for (const p of state.pictures) size += p.result?.dataUrl?.length ?? p.file.size * 1.34;
    if (makesVideo(state.kind) && state.watermark && state.wmPicture) size += state.wmPicture.result?.dataUrl?.length ?? 0;
    return size;
  }

  function body() {
    const e = entry();
    const out = { model: state.model };
    if (state.useSubjects) {
      out.subjects = subjectGroups().map((g) => ({ id: g.id, images: g.pictures.map((p) => p.result.dataUrl) }));
    } else if (e.images.max > 0) {
      out.images = state.pictures.map((p) => p.result.dataUrl);
    }
    Object.assign(out, { prompt: state.prompt, resolution: state.resolution });
    if (e.aspect_ratios.length) out.aspect_ratio = state.aspectRatio;
    if (e.styles.length) out.style = state.style;
    if (e.audio.available) out.audio = state.audio;
    if (e.is_rec) out.is_rec = state.isRec;
    if (makesVideo(state.kind)) {
      Object.assign(out, {
        duration: state.duration,
        movement_amplitude: e.movement_amplitude_ignored ? "auto" : state.amplitude,
        bgm: state.bgm,
        off_peak: state.offPeak,
        watermark: state.watermark,
      });
      if (state.watermark) {
        out.wm_position = state.wmPosition;
        if (state.wmPicture?.result?.dataUrl) out.wm_url = state.wmPicture.result.dataUrl;
      }
      if (state.metaData) out.meta_data = state.metaData;
    }
    if (state.seed.trim()) out.seed = Number(state.seed.trim());
    if (state.callbackUrl.trim()) out.callback_url = state.callbackUrl.trim();
    if (state.payload) out.payload = state.payload;
    return out;
  }

  async function submit() {
    if (state.submitting || blockers().length) return;
    const expected = currentPrice().credits;
    state.submitting = true;
    fill(els.outcome);
    render();
    try {
      const created = await api.create(state.kind, body());
      justCreated = true;
      const agrees = created.credits === expected;
      fill(
        els.outcome,
        h(
          "div",
          { class: "created-note", role: "status" },
          h("strong", null, "Task created"),
          ` · ${created.credits} credit${created.credits === 1 ? "" : "s"}`,
          agrees ? null : h("span", { class: "warn" }, ` (the console expected ${expected})`),
          h("a", { class: "view-link", href: `#task-${created.task_id}` }, "View task"),
          h("code", { class: "created-id" }, created.task_id),
        ),
      );
      onCreated(created);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) onUnauthorized();
      fill(els.outcome, errorBox(error, "The server refused this task"));
    } finally {
      state.submitting = false;
      render();
      justCreated = false;
    }
  }

  function currentPrice() {
    return price(entry(), state.kind, {
      duration: state.duration,
      resolution: state.resolution,
      offPeak: state.offPeak,
      audio: state.audio,
      isRec: state.isRec,
    });
  }

  // --- rendering ---------------------------------------------------------------------------------

  function render() {
    const focused = focusKey();
    touched();
    normalize();
    const e = entry();
    for (const tab of els.kinds.querySelectorAll("[data-kind]")) {
      const on = /** @type {HTMLElement} */ (tab).dataset.kind === state.kind;
      tab.setAttribute("aria-selected", String(on));
      tab.setAttribute("tabindex", on ? "0" : "-1"); // one tab stop; arrows move between tabs
      tab.classList.toggle("active", on);
      if (on) els.form.setAttribute("aria-labelledby", tab.id);
    }
    renderModels();
    renderPictures(e);
    renderPrompt(e);
    renderOptions(e);
    renderAdvanced();
    renderSummary();
    restoreFocus(focused);
    persist();
  }

  /** The form changed: a "Task created" note is about the previous task, so it goes. */
  function touched() {
    if (justCreated || state.submitting) return;
    if (els.outcome.querySelector(".created-note")) fill(els.outcome);
  }

  function persist() {
    if (!slot) return;
    const draft = { kind: state.kind, model: state.model };
    for (const name of SETTINGS) draft[name] = state[name];
    saveDraft(slot, draft);
  }

  /** Take over saved or reused settings: the kind and model first (when this catalogue has them),
   * then each option the model allows; anything else keeps the model's default. */
  function applySettings(settings) {
    const kind = KINDS.includes(settings.kind) ? settings.kind : state.kind;
    state.kind = kind;
    const model = catalogue[kind]?.[settings.model]?.served ? settings.model : defaultModel(catalogue, kind);
    state.model = model;
    resetOptions();
    const e = entry();
    for (const name of SETTINGS) {
      if (settings[name] === undefined || settings[name] === null) continue;
      const value = settings[name];
      if (name === "duration" && !(String(value) in e.durations)) continue;
      if (name === "resolution" && !durationOption(e, state.duration).resolutions.includes(value)) continue;
      if (name === "aspectRatio" && !e.aspect_ratios.includes(value)) continue;
      if (name === "style" && !e.styles.includes(value)) continue;
      if (name === "amplitude" && !e.movement_amplitudes.includes(value)) continue;
      state[name] = typeof state[name] === "string" ? String(value) : value;
    }
    render();
  }

  /** What has the keyboard focus in the form, by control name (and value, for a choice), so that a
   * render that rebuilds the controls can give it back. */
  function focusKey() {
    const active = /** @type {HTMLInputElement | null} */ (document.activeElement);
    if (!active || !els.form.contains(active) || !active.name) return null;
    return { name: active.name, value: active.type === "radio" ? active.value : null };
  }

  function restoreFocus(key) {
    if (!key || /** @type {HTMLInputElement | null} */ (document.activeElement)?.name === key.name) return;
    const value = key.value === null ? "" : `[value="${CSS.escape(key.value)}"]`;
    const target = /** @type {HTMLElement | null} */ (els.form.querySelector(`[name="${CSS.escape(key.name)}"]${value}`));
    target?.focus();
  }

  function renderModels() {
    fill(
      els.models,
      h("div", { class: "field-label" }, "Model"),
      h(
        "div",
        { class: "chips models" },
        modelsFor(catalogue, state.kind).map(({ name, entry: m }) =>
          h(
            "label",
            { class: "chip model-chip", title: m.served ? null : "not served by this deployment" },
            h("input", {
              type: "radio",
              name: "model",
              value: name,
              checked: name === state.model,
              disabled: !m.served,
              onchange: () => setModel(name),
            }),
            h(
              "span",
              { class: "chip-body" },
              h("span", { class: "chip-title" }, name),
              h("span", { class: "chip-sub" }, m.served ? summary(m, state.kind) : "not served here"),
              backendOf(name) === "compositor" ? h("span", { class: "chip-sub backend" }, "compositor") : null,
            ),
          ),
        ),
      ),
      BACKEND_NOTE[backendOf(state.model)]
        ? h("p", { class: "hint backend-note", data: { backend: backendOf(state.model) } }, `${state.model} is ${BACKEND_NOTE[backendOf(state.model)]}`)
        : null,
    );
  }

  /** The backend this deployment serves a model of the current kind with ("" when not served). */
  function backendOf(model) {
    return limits.backends?.[state.kind]?.[model] ?? "";
  }

  function renderPictures(e) {
    const n = state.pictures.length;
    els.imagesField.hidden = e.images.max === 0 && !e.subjects && state.kind !== IMAGE;
    const max = state.useSubjects ? e.subjects.images_in_all_max : e.images.max;
    const range = e.images.min === 0 ? `up to ${max}` : e.images.min === max ? `${max}` : `${e.images.min}–${max}`;
    const title = FRAME_LABELS[state.kind] ? "Frames " : state.useSubjects ? "Subject pictures " : "Reference pictures ";
    fill(els.imagesLabel, title, h("span", { class: "muted" }, `${n} of ${range}`));
    els.dropzone.classList.toggle("has-pictures", n > 0);
    fill(
      els.dropHint,
      h("span", null, h("strong", null, n ? "Add more pictures" : "Drop pictures here"), " or ", h("span", { class: "link" }, "browse")),
      h("small", null, `PNG, JPEG or WebP · at least ${limits.images.min_side}×${limits.images.min_side} · ratio 1:${limits.images.max_aspect} to ${limits.images.max_aspect}:1 · up to ${Math.floor(limits.images.max_data_url_bytes / 1048576)} MB each`),
      e.images.min === 0 ? h("small", null, "No picture: text to image") : null,
    );
    fill(els.thumbs, state.pictures.map((p, i) => thumb(p, i, n)));
  }

  function thumb(picture, index, count) {
    const r = picture.result;
    const problem = r?.problem;
    const showsImage = r && r.format && !(problem && problem.reason === "ImageFormatInvalid");
    const info = !r ? "checking…" : r.width ? `${r.format.toUpperCase()} · ${r.width}×${r.height}` : formatBytes(picture.file.size);
    return h(
      "li",
      {
        class: `thumb${problem ? " invalid" : ""}${r ? "" : " checking"}`,
        draggable: "true",
        data: { index, name: picture.file.name, state: problem ? "refused" : r ? "ok" : "checking" },
        ondragstart: (ev) => {
          dragIndex = index;
          ev.dataTransfer.effectAllowed = "move";
          ev.dataTransfer.setData("text/plain", String(index));
        },
        ondragover: (ev) => {
          if (dragIndex >= 0) ev.preventDefault();
        },
        ondrop: (ev) => {
          if (dragIndex < 0) return;
          ev.preventDefault();
          ev.stopPropagation();
          const from = dragIndex;
          dragIndex = -1;
          movePicture(from, index);
        },
        ondragend: () => {
          dragIndex = -1;
        },
      },
      h(
        "div",
        { class: "thumb-frame" },
        showsImage
          ? h("img", { src: picture.url, alt: `Reference picture ${index + 1}`, draggable: "false" })
          : h("div", { class: "thumb-placeholder" }, h("span", null, picture.file.name || "file")),
        h("span", { class: "thumb-index" }, FRAME_LABELS[state.kind]?.[index] ?? String(index + 1)),
      ),
      state.useSubjects
        ? h(
            "label",
            { class: "thumb-subject" },
            h("span", { class: "muted" }, "Subject "),
            h("input", {
              type: "text",
              name: `subject-${index}`,
              value: picture.subject,
              autocomplete: "off",
              "aria-label": `Subject of picture ${index + 1}`,
              onclick: (ev) => ev.stopPropagation(),
              oninput: (ev) => {
                picture.subject = ev.target.value;
                renderPrompt(entry());
                renderSummary();
              },
            }),
          )
        : null,
      h("div", { class: "thumb-info", title: `${picture.file.name} (${formatBytes(picture.file.size)})` }, info),
      problem
        ? h("p", { class: "thumb-problem", role: "alert" }, h("code", { class: "reason" }, problem.reason), " ", h("span", { class: "message" }, problem.message(pictureField(picture, index))))
        : null,
      h(
        "div",
        { class: "thumb-actions" },
        h("button", { type: "button", class: "icon-btn", "aria-label": `Move picture ${index + 1} earlier`, title: "Move earlier", disabled: index === 0, onclick: () => movePicture(index, index - 1) }, "←"),
        h("button", { type: "button", class: "icon-btn", "aria-label": `Move picture ${index + 1} later`, title: "Move later", disabled: index === count - 1, onclick: () => movePicture(index, index + 1) }, "→"),
        h("button", { type: "button", class: "icon-btn danger", "aria-label": `Remove picture ${index + 1}`, title: "Remove", onclick: () => removePicture(index) }, "✕"),
      ),
    );
  }

  function renderPrompt(e) {
    els.prompt.placeholder = state.useSubjects ? "Name each subject as @id: @1 walks a dog past @2" : PLACEHOLDER[state.kind];
    renderSubjectHints();
    const length = [...state.prompt].length;
    const max = promptMax(e);
    els.promptCount.textContent = `${length} / ${max}`;
    els.promptCount.classList.toggle("over", length > max);
    if (els.prompt.value !== state.prompt) els.prompt.value = state.prompt;
  }

  /** In subjects mode, one button per subject id that puts `@id` into the prompt at the cursor. */
  function renderSubjectHints() {
    const ids = state.useSubjects ? subjectGroups().map((g) => g.id).filter((id) => id && !/[\s@]/.test(id)) : [];
    els.hints.hidden = ids.length === 0;
    fill(
      els.hints,
      ids.length ? h("span", { class: "muted" }, "Name a subject: ") : null,
      ids.map((id) =>
        h("button", { type: "button", class: "chip-btn", "aria-label": `Insert @${id} into the prompt`, onclick: () => insertMention(id) }, `@${id}`),
      ),
      ids.length && !ids.some((id) => state.prompt.includes(`@${id}`)) ? h("span", { class: "hint" }, " (no subject is named yet)") : null,
    );
  }

  function insertMention(id) {
    const input = els.prompt;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? start;
    const before = input.value.slice(0, start);
    const text = `${before && !/\s$/.test(before) ? " " : ""}@${id} `;
    input.setRangeText(text, start, end, "end");
    state.prompt = input.value;
    input.focus();
    render();
  }

  function chips(name, label, options, selected, onPick, note) {
    return h(
      "fieldset",
      { class: "field", data: { control: name } },
      h("legend", { class: "field-label" }, label),
      h(
        "div",
        { class: "chips" },
        options.map((o) =>
          h(
            "label",
            { class: "chip" },
            h("input", {
              type: "radio",
              name,
              value: String(o.value),
              checked: String(o.value) === String(selected),
              disabled: o.enabled === false,
              onchange: () => onPick(o.value),
            }),
            h("span", { class: "chip-body" }, o.icon ?? null, h("span", { class: "chip-title" }, o.label ?? String(o.value))),
          ),
        ),
      ),
      note ? h("p", { class: "hint" }, note) : null,
    );
  }

  function ratioIcon(value) {
    const [w, h2] = value === "auto" ? [1, 1] : value.split(":").map(Number);
    const scale = 14 / Math.max(w, h2);
    const rw = Math.max(3, w * scale);
    const rh = Math.max(3, h2 * scale);
    return svg(
      "svg",
      { class: "ratio-icon", viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true" },
      svg("rect", { x: (16 - rw) / 2, y: (16 - rh) / 2, width: rw, height: rh, rx: 1.5, "stroke-dasharray": value === "auto" ? "2 1.5" : "none" }),
    );
  }

  function toggle(name, label, checked, onChange, hint, disabled) {
    return h(
      "label",
      { class: "toggle", data: { control: name } },
      h("input", { type: "checkbox", name, checked, disabled: disabled ?? false, onchange: (ev) => onChange(ev.target.checked) }),
      h("span", { class: "toggle-track", "aria-hidden": "true" }),
      h("span", { class: "toggle-text" }, h("span", { class: "toggle-label" }, label), hint ? h("span", { class: "hint" }, hint) : null),
    );
  }

  function renderOptions(e) {
    const option = durationOption(e, state.duration);
    const groups = [];
    const video = makesVideo(state.kind);
    if (e.subjects) {
      groups.push(
        h("div", { class: "toggles" }, toggle("subjects", "Subjects", state.useSubjects, (v) => {
          state.useSubjects = v;
          render();
        }, "Group the pictures into subjects the prompt names as @id")),
      );
    }
    if (e.styles.length) {
      groups.push(chips("style", "Style", e.styles.map((v) => ({ value: v, label: STYLE_LABEL[v] ?? v })), state.style, (v) => {
        state.style = v;
        render();
      }));
    }
    if (video) {
      groups.push(chips("duration", "Duration", durationsOf(e).map((d) => ({ value: d, label: `${d} s` })), state.duration, (d) => setDuration(Number(d))));
    }
    groups.push(
      chips("resolution", "Resolution", option.resolutions.map((r) => ({ value: r })), state.resolution, (r) => {
        state.resolution = r;
        render();
      }),
    );
    const ratios = aspectRatiosOf(e, state.pictures.length);
    if (ratios.length) groups.push(
      chips(
        "aspect_ratio",
        "Aspect ratio",
        ratios.map((r) => ({ ...r, icon: ratioIcon(r.value), label: r.value === "auto" ? "auto" : r.value })),
        state.aspectRatio,
        (r) => {
          state.aspectRatio = r;
          render();
        },
        ratios.some((r) => r.value === "auto") ? "auto takes the first picture's ratio (needs a picture)." : null,
      ),
    );
    if (video) {
      groups.push(
        chips(
          "movement_amplitude",
          "Movement",
          e.movement_amplitudes.map((a) => ({ value: a, label: AMPLITUDE_LABEL[a] ?? a, enabled: !e.movement_amplitude_ignored })),
          e.movement_amplitude_ignored ? "auto" : state.amplitude,
          (a) => {
            state.amplitude = a;
            render();
          },
          e.movement_amplitude_ignored ? `${state.model} chooses the movement itself.` : null,
        ),
      );
      const toggles = h(
        "div",
        { class: "toggles" },
        toggle("bgm", "Background music", state.bgm, (v) => {
          state.bgm = v;
          render();
        }),
        e.audio.available
          ? toggle("audio", "Audio", state.audio, (v) => {
              state.audio = v;
              render();
            }, e.speaks ? "Speaks the prompt's quoted lines" : "This deployment cannot make speech", !e.speaks)
          : null,
        e.is_rec
          ? toggle("is_rec", "Prompt from the pictures", state.isRec, (v) => {
              state.isRec = v;
              render();
            }, "The server writes the prompt (+1 credit)")
          : null,
        toggle("off_peak", "Off-peak", state.offPeak, (v) => {
          state.offPeak = v;
          render();
        }, "Half price; starts after other tasks, within 48 h"),
        toggle("watermark", "Watermark", state.watermark, (v) => {
          state.watermark = v;
          render();
        }, "Adds a watermarked copy"),
      );
      groups.push(toggles);
      if (state.watermark) groups.push(watermarkFields());
    }
    fill(els.options, groups);
  }

  function watermarkFields() {
    const wm = state.wmPicture;
    const problem = wm?.result?.problem;
    return h(
      "div",
      { class: "watermark-fields" },
      h(
        "label",
        { class: "field inline", data: { control: "wm_position" } },
        h("span", { class: "field-label" }, "Position"),
        h(
          "select",
          {
            name: "wm_position",
            onchange: (ev) => {
              state.wmPosition = Number(ev.target.value);
              render();
            },
          },
          limits.wm_positions.map((p) => h("option", { value: p, selected: p === state.wmPosition }, WM_LABEL[p] ?? String(p))),
        ),
      ),
      h(
        "div",
        { class: "field inline", data: { control: "wm_url" } },
        h("span", { class: "field-label" }, "Mark image"),
        h(
          "label",
          { class: "btn small" },
          wm ? "Replace…" : "Choose…",
          h("input", { type: "file", accept: "image/png,image/jpeg,image/webp", class: "visually-hidden", onchange: (ev) => setWatermarkPicture(ev.target.files?.[0] ?? null) }),
        ),
        wm ? h("span", { class: "muted file-name" }, wm.file.name) : h("span", { class: "muted" }, "optional: refgen's mark"),
        wm ? h("button", { type: "button", class: "icon-btn", "aria-label": "Remove mark image", onclick: () => setWatermarkPicture(null) }, "✕") : null,
      ),
      problem ? h("p", { class: "thumb-problem" }, h("code", { class: "reason" }, problem.reason), " ", problem.message("wm_url")) : null,
    );
  }

  function renderAdvanced() {
    // Built once; values flow back through input listeners. Only meta_data depends on the kind.
    if (!els.advanced.childElementCount) {
      const text = (name, label, attrs, key) =>
        h(
          "label",
          { class: "field", data: { control: name } },
          h("span", { class: "field-label" }, label),
          h(attrs.multiline ? "textarea" : "input", {
            name,
            rows: attrs.multiline ? 2 : null,
            type: attrs.multiline ? null : attrs.type ?? "text",
            inputmode: attrs.inputmode ?? null,
            placeholder: attrs.placeholder ?? "",
            autocomplete: "off",
            oninput: (ev) => {
              state[key] = ev.target.value;
              touched();
              renderSummary();
              persist();
            },
          }),
        );
      fill(
        els.advanced,
        text("seed", "Seed", { inputmode: "numeric", placeholder: `0 = random (0 to ${limits.seed_max})` }, "seed"),
        text("callback_url", "Callback URL", { type: "url", placeholder: "https://example.com/vidu/callback" }, "callbackUrl"),
        text("payload", "Payload", { multiline: true, placeholder: "any text, echoed back" }, "payload"),
        text("meta_data", "Meta data", { multiline: true, placeholder: "any text, stored with the task" }, "metaData"),
      );
    }
    for (const [name, key] of [["seed", "seed"], ["callback_url", "callbackUrl"], ["payload", "payload"], ["meta_data", "metaData"]]) {
      const input = /** @type {HTMLInputElement} */ (els.advanced.querySelector(`[name="${name}"]`));
      if (input.value !== state[key]) input.value = state[key];
    }
    const meta = els.advanced.querySelector('[data-control="meta_data"]');
    if (meta) /** @type {HTMLElement} */ (meta).hidden = !makesVideo(state.kind);
  }

  function renderSummary() {
    const { credits, detail } = currentPrice();
    els.price.textContent = String(credits);
    els.price.dataset.credits = String(credits);
    fill(els.priceDetail, `credit${credits === 1 ? "" : "s"}`, detail ? h("small", null, detail) : null);
    const problems = blockers();
    fill(els.balance, balance === null ? "" : balance >= UNLIMITED ? "Balance: no credit limit" : `Balance: ${plural(balance, "credit")}`);
    els.submit.disabled = state.submitting || problems.length > 0;
    els.submit.textContent = state.submitting ? "Submitting…" : makesVideo(state.kind) ? "Generate video" : "Generate image";
    fill(
      els.blockers,
      problems.map((p) =>
        h("li", { class: p.pending ? "pending" : "problem" }, p.reason ? h("code", { class: "reason" }, p.reason) : null, p.reason ? " " : null, p.message),
      ),
    );
  }

  // --- wiring ------------------------------------------------------------------------------------

  for (const kind of KINDS) {
    const tab = els.kinds.querySelector(`[data-kind="${kind}"]`);
    tab?.addEventListener("click", () => setKind(kind));
    if (tab) tab.textContent = KIND_LABEL[kind];
  }
  // the ARIA tabs pattern: arrows, Home and End move to a tab and select it
  els.kinds.addEventListener("keydown", (ev) => {
    const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -Infinity, End: Infinity };
    if (!(ev.key in moves)) return;
    ev.preventDefault();
    const at = KINDS.indexOf(state.kind);
    const step = moves[ev.key];
    const next = step === -Infinity ? 0 : step === Infinity ? KINDS.length - 1 : (at + step + KINDS.length) % KINDS.length;
    setKind(KINDS[next]);
    /** @type {HTMLElement | null} */ (els.kinds.querySelector(`[data-kind="${KINDS[next]}"]`))?.focus();
  });
  els.fileInput.addEventListener("change", () => {
    addFiles([...(els.fileInput.files ?? [])]);
    els.fileInput.value = "";
  });
  els.dropzone.addEventListener("click", (ev) => {
    if (/** @type {HTMLElement} */ (ev.target).closest(".thumb")) return;
    els.fileInput.click();
  });
  els.dropzone.addEventListener("keydown", (ev) => {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target === els.dropzone) {
      ev.preventDefault();
      els.fileInput.click();
    }
  });
  els.dropzone.addEventListener("dragover", (ev) => {
    if (ev.dataTransfer?.types.includes("Files")) {
      ev.preventDefault();
      els.dropzone.classList.add("dragging");
    }
  });
  els.dropzone.addEventListener("dragleave", () => els.dropzone.classList.remove("dragging"));
  els.dropzone.addEventListener("drop", (ev) => {
    els.dropzone.classList.remove("dragging");
    if (!ev.dataTransfer?.files.length) return;
    ev.preventDefault();
    addFiles([...ev.dataTransfer.files]);
  });
  els.prompt.addEventListener("input", () => {
    state.prompt = els.prompt.value;
    touched();
    renderPrompt(entry());
    renderSummary();
    persist();
  });
  els.prompt.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) submit();
  });
  els.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit();
  });

  setKind(VIDEO);

  return {
    /** A key signed in: its draft, if it has one, fills the form. */
    signedIn(draftSlot) {
      slot = draftSlot;
      const draft = loadDraft(draftSlot);
      if (draft) applySettings(draft);
    },
    /** The key signed out: its draft is deleted and the form is emptied for whoever comes next. */
    signedOut() {
      if (slot) forgetDraft(slot);
      slot = null;
      balance = null;
      for (const p of state.pictures) URL.revokeObjectURL(p.url);
      if (state.wmPicture) URL.revokeObjectURL(state.wmPicture.url);
      Object.assign(state, freshState());
      fill(els.outcome);
      setKind(VIDEO);
    },
    /** Fill the form with a listed task's settings ("reuse these settings"). */
    reuse(settings) {
      applySettings(settings);
      els.prompt.focus();
    },
    /** The key's credits left, from GET /ent/v2/credits. */
    setBalance(credits) {
      balance = credits;
      renderSummary();
    },
  };
}

const UNLIMITED = 2147483647;

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function isHttpUrl(value) {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && Boolean(url.hostname) && !value.includes(" ");
  } catch {
    return false;
  }
}
