// A tiny element builder. Attributes are set with setAttribute, listeners with `on<event>`,
// `dataset` entries with `data`; inline `style` attributes are never written (the page's CSP
// forbids them), so sizes are set through the CSSOM by the callers.

/**
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...(Node | string | number | null | undefined | false | Array<Node | string>)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    } else if (name === "data" && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (name === "class") {
      el.className = String(value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element (icons, ratio shapes). */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs ?? {})) el.setAttribute(name, String(value));
  for (const child of children) el.append(child);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** @param {string} id */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

/** The standard way an API error is shown: reason, message and trace id. */
export function errorBox(error, title) {
  return h(
    "div",
    { class: "error-box", role: "alert" },
    title ? h("strong", { class: "error-title" }, title) : null,
    h("div", { class: "error-line" }, h("code", { class: "reason" }, error.reason), " ", h("span", { class: "message" }, error.message)),
    error.traceId ? h("div", { class: "trace" }, "trace id ", h("code", { class: "trace-id" }, error.traceId)) : null,
  );
}
