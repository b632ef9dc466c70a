// Shared widgets: error messages, confirmation dialogs, diffs, form fields, tables.

import { h, jsonText, replace, uid } from "./dom.js";

/** What a person should read for an API error: its detail, and what to do for the usual ones. */
export function errorText(error) {
  if (!error) return "";
  if (error.name === "AbortError") return "";
  const detail = error.detail || error.message || String(error);
  if (error.status === 412) {
    return (
      `${detail}. Someone changed this config since you read it: ` +
      "reload to get the latest version, then apply your change again."
    );
  }
  if (error.code === "locked_path" && error.path && !detail.includes(error.path))
    return `${detail} (locked path: ${error.path})`;
  if (error.code === "routing_conflict" && error.holder) {
    const holder = error.holder.node_id || JSON.stringify(error.holder);
    return `${detail} (held by ${holder})`;
  }
  if (error.path && !detail.includes(error.path)) return `${detail} (at ${error.path})`;
  return detail;
}

/** An inline error shown next to what caused it (role=alert, so screen readers hear it). */
export function errorBox(error, extra) {
  const text = errorText(error);
  if (!text) return null;
  return h(
    "div",
    { class: "error", role: "alert", dataset: { code: error.code || "" } },
    h("strong", { text: error.status ? `${error.code || "error"}: ` : "Error: " }),
    text,
    extra || null,
  );
}

/** A slot that shows one message at a time (error, success note, or nothing). */
export function messageSlot() {
  const el = h("div", { class: "message-slot", "aria-live": "polite" });
  return {
    el,
    error(error, extra) {
      replace(el, errorBox(error, extra));
    },
    ok(text) {
      replace(el, h("div", { class: "ok", role: "status", text }));
    },
    clear() {
      replace(el);
    },
  };
}

/** Disable `button` while `work` runs; show its error in `slot` (if given). */
export async function busy(button, work, slot) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    slot?.clear();
    return await work();
  } catch (error) {
    if (slot) slot.error(error);
    else throw error;
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/**
 * A modal confirmation. `confirmLabel` names the button that goes ahead (the action's own name,
 * e.g. "Rollback"); `check` (optional) is a checkbox the person must tick first (e.g. a
 * cascade). Resolves true when confirmed.
 */
export function confirmDialog({ title, body = [], confirmLabel, danger = false, check = null }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const confirm = h("button", { type: "submit", class: danger ? "danger" : "primary", text: confirmLabel });
    let box = null;
    if (check) {
      box = h("input", { type: "checkbox", id: uid("chk") });
      confirm.disabled = true;
      box.addEventListener("change", () => {
        confirm.disabled = !box.checked;
      });
    }
    const cancel = h("button", { type: "button", class: "ghost", text: "Cancel" });
    const form = h(
      "form",
      { class: "dialog-body" },
      h("h2", { id: titleId, text: title }),
      body,
      check ? h("label", { class: "check", for: box.id }, box, check) : null,
      h("div", { class: "actions" }, confirm, cancel),
    );
    const dialog = h("dialog", { "aria-labelledby": titleId }, form);
    let result = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      result = true;
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    // showModal() makes the page inert; aria-hidden says so to tools that only read ARIA, so
    // the dialog's buttons are the only ones named (e.g. the confirming "Rollback").
    const app = document.getElementById("app");
    dialog.addEventListener("close", () => {
      app?.removeAttribute("aria-hidden");
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    app?.setAttribute("aria-hidden", "true");
    dialog.showModal();
    (check ? box : confirm).focus();
  });
}

const OP_SYMBOL = { add: "+", remove: "−", replace: "~", move: "→", copy: "⧉", test: "?" };

/** An RFC 6902 patch as a readable list: one row per operation. */
export function diffView(ops, { empty = "No change." } = {}) {
  if (!ops || ops.length === 0) return h("p", { class: "muted", text: empty });
  return h(
    "ul",
    { class: "diff" },
    ops.map((op) =>
      h(
        "li",
        { class: `diff-op diff-${op.op}` },
        h("span", { class: "diff-symbol", "aria-hidden": "true", text: OP_SYMBOL[op.op] || op.op }),
        h("span", { class: "sr-only", text: `${op.op} ` }),
        h("code", { class: "diff-path", text: op.path || "/" }),
        op.from !== undefined ? h("span", { class: "diff-from", text: ` from ${op.from}` }) : null,
        "value" in op ? h("code", { class: "diff-value", text: jsonText(op.value) }) : null,
      ),
    ),
  );
}

export function badge(text, kind = "neutral", title) {
  return h("span", { class: `badge badge-${kind}`, title, text });
}

/** A labelled form control; returns {wrap, input}. */
export function field(label, input, hint) {
  if (!input.id) input.id = uid("in");
  const hintEl = hint ? h("small", { class: "hint", id: uid("hint"), text: hint }) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return { wrap: h("div", { class: "field" }, h("label", { for: input.id, text: label }), input, hintEl), input };
}

/** A table inside a horizontally scrollable box (narrow screens scroll the table, not the page). */
export function table(columns, rows, { empty = "Nothing here yet.", caption } = {}) {
  if (!rows.length) return h("p", { class: "muted empty", text: empty });
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption || "table" },
    h(
      "table",
      {},
      caption ? h("caption", { class: "sr-only", text: caption }) : null,
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          columns.map((c) => h("th", { scope: "col", text: c.label })),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            columns.map((c) => h("td", { class: c.class }, c.cell(row))),
          ),
        ),
      ),
    ),
  );
}

export function loading(text = "Loading…") {
  return h("p", { class: "muted loading", role: "status", text });
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", { class: "card-title", text: title }) : null, children);
}

/** The first few characters of an etag or id, for display. */
export function short(value, length = 10) {
  if (!value) return "—";
  const text = String(value);
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
