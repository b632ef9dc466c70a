// DOM helpers. Every string reaches the page as text (textContent / text nodes / attribute
// values), never as markup: a config value such as <img src=x onerror=…> is shown, not parsed.

const BOOLEAN_ATTRS = new Set([
  "disabled",
  "checked",
  "selected",
  "required",
  "hidden",
  "open",
  "readonly",
  "multiple",
]);

/** h("button", {class: "primary", onclick: f}, "Save") → an element; children may be nested arrays. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "value") el.value = String(value);
    else if (key === "for") el.htmlFor = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "style") throw new Error("inline styles are refused by the page's CSP: use a class");
    else if (BOOLEAN_ATTRS.has(key)) el.toggleAttribute(key, Boolean(value));
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

/** A JSON value as one line of text (strings quoted), for leaves and diffs. */
export function jsonText(value) {
  if (value === undefined) return "";
  return JSON.stringify(value);
}

export function shortTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z")
    .replace(/:\d\dZ$/, "Z");
}

export function relativeTime(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(seconds)) return String(iso);
  if (seconds < 60) return "just now";
  const units = [
    ["d", 86400],
    ["h", 3600],
    ["min", 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return `${Math.floor(seconds / size)} ${unit} ago`;
  }
  return "just now";
}

/** A JSON Pointer escaped segment (RFC 6901). */
export function pointerSegment(key) {
  return String(key).replaceAll("~", "~0").replaceAll("/", "~1");
}

let counter = 0;
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}
