// The editor of a node's own config: a JSON text area that refuses invalid JSON, a preview of
// the change (the node's diff and, below it, every other node it reaches) before Save, and a
// save conditioned on the version that was read (a concurrent change answers 412: reload).

import { request } from "./api.js";
import { h, replace, uid } from "./dom.js";
import { badge, diffView, errorBox, errorText, field, loading } from "./ui.js";
import { jsonDiff } from "./jsondiff.js";

const JSON_PATCH = "application/json-patch+json";

function parseObject(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `Invalid JSON: ${error.message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { error: "The own config must be a JSON object ({ … })." };
  }
  return { value };
}

function previewView(preview, ops, node) {
  const self = preview.affected.find((a) => a.node_id === node);
  const others = preview.affected.filter((a) => a.node_id !== node);
  const total = preview.affected.length + preview.unaffected_count;
  return h(
    "div",
    { class: "preview", role: "region", "aria-label": "Preview of the change" },
    preview.errors.length
      ? h(
          "div",
          { class: "error", role: "alert" },
          h("strong", { text: "This change would be refused:" }),
          h(
            "ul",
            {},
            preview.errors.map((e) =>
              h("li", { dataset: { code: e.code } }, h("code", { text: e.code }), " ", errorText(e)),
            ),
          ),
        )
      : null,
    h("h3", { text: "Own config change" }),
    diffView(ops),
    h("h3", { text: `Effective config of ${node}` }),
    diffView(self?.diff, { empty: "The effective config of this node does not change." }),
    total > 1
      ? h(
          "div",
          { class: "blast" },
          h(
            "h3",
            {},
            "Blast radius ",
            badge(
              `${preview.affected.length} of ${total} nodes in this subtree change`,
              preview.affected.length > 1 ? "warn" : "neutral",
            ),
          ),
          others.length
            ? others.map((a) =>
                h(
                  "details",
                  { class: "blast-node" },
                  h(
                    "summary",
                    {},
                    h("span", { class: "key", text: a.node_id }),
                    h("span", { class: "count", text: `${a.diff.length} changes` }),
                  ),
                  diffView(a.diff),
                ),
              )
            : h("p", { class: "muted", text: `No descendant changes (${preview.unaffected_count} unaffected).` }),
          others.length && preview.unaffected_count
            ? h("p", { class: "muted", text: `${preview.unaffected_count} other nodes below are unaffected.` })
            : null,
        )
      : null,
  );
}

/** Open the editor in `box`; `onDone(result|null)` when saved or cancelled. */
export async function openEditor({ box, target, live, signal, onDone }) {
  replace(box, loading("Loading the own config…"));
  let base;
  try {
    base = await target.own();
  } catch (error) {
    replace(box, errorBox(error));
    onDone(null);
    return;
  }
  const areaId = uid("own");
  const area = h("textarea", {
    id: areaId,
    class: "code",
    spellcheck: "false",
    rows: 16,
    "aria-describedby": `${areaId}-status`,
  });
  const status = h("p", { id: `${areaId}-status`, class: "editor-status", "aria-live": "polite" });
  const reason = field(
    "Reason (optional)",
    h("input", { type: "text", maxlength: 2000, placeholder: "Why this change?" }),
  );
  const previewButton = h("button", { type: "button", class: "secondary", text: "Preview" });
  const saveButton = h("button", { type: "button", class: "primary", text: "Save", disabled: true });
  const cancelButton = h("button", { type: "button", class: "ghost", text: "Cancel" });
  const previewBox = h("div", { class: "preview-box" });
  const result = h("div", { class: "editor-result", "aria-live": "polite" });
  const stale = h("div", { class: "stale" });
  let previewed = null; // {text, ops, basedOn}

  const load = (own) => {
    base = own;
    area.value = `${JSON.stringify(own.config, null, 2)}\n`;
    previewed = null;
    replace(previewBox);
    replace(stale);
    check();
  };

  const check = () => {
    const parsed = parseObject(area.value);
    area.setAttribute("aria-invalid", parsed.error ? "true" : "false");
    status.className = parsed.error ? "editor-status invalid" : "editor-status";
    status.textContent = parsed.error || "Valid JSON. Preview shows what changes before anything is saved.";
    previewButton.disabled = Boolean(parsed.error);
    const fresh = previewed && previewed.text === area.value;
    saveButton.disabled = Boolean(parsed.error) || Boolean(fresh && previewed.ops.length === 0);
    if (previewed && !fresh) {
      previewed = null;
      replace(previewBox, h("p", { class: "muted", text: "The text changed: preview again before saving." }));
    }
    return parsed;
  };

  const reload = async () => {
    replace(result);
    try {
      load(await target.own());
      replace(result, h("p", { class: "ok", role: "status", text: `Reloaded: own config version ${base.version}.` }));
    } catch (error) {
      replace(result, errorBox(error));
    }
  };
  const reloadButton = () => h("button", { type: "button", class: "secondary small", text: "Reload", onclick: reload });

  area.addEventListener("input", check);
  const runPreview = async () => {
    const parsed = check();
    if (parsed.error) {
      area.focus();
      return;
    }
    replace(result);
    const ops = jsonDiff(base.config, parsed.value);
    if (!ops.length) {
      previewed = { text: area.value, ops, basedOn: null };
      replace(previewBox, h("p", { class: "muted", text: "Nothing to save: this is the current own config." }));
      check();
      return;
    }
    previewButton.disabled = true;
    replace(previewBox, loading("Computing the preview…"));
    try {
      const { data } = await request("POST", target.preview, { body: ops, contentType: JSON_PATCH, signal });
      previewed = { text: area.value, ops, basedOn: data.based_on };
      replace(previewBox, previewView(data, ops, target.node));
    } catch (error) {
      previewed = null;
      replace(previewBox, errorBox(error));
    } finally {
      check();
    }
  };
  previewButton.addEventListener("click", runPreview);

  saveButton.addEventListener("click", async () => {
    let parsed = check();
    if (parsed.error) return;
    if (!previewed || previewed.text !== area.value) {
      // Nothing is saved unseen: the first Save shows the preview, the next one applies it.
      await runPreview();
      if (previewed && previewed.ops.length) {
        replace(
          result,
          h("p", { class: "notice", role: "status", text: "Check the preview below, then Save to apply it." }),
        );
      }
      return;
    }
    parsed = check();
    if (parsed.error) return;
    saveButton.disabled = true;
    replace(result, loading("Saving…"));
    try {
      const body = { config: parsed.value };
      if (reason.input.value.trim()) body.reason = reason.input.value.trim();
      const { data } = await request("PUT", target.write, {
        body,
        headers: { "If-Match": target.ifMatch(base.version) },
        signal,
      });
      replace(box);
      onDone(data);
    } catch (error) {
      replace(result, errorBox(error, error.status === 412 ? reloadButton() : null));
      check();
    }
  });

  cancelButton.addEventListener("click", () => {
    replace(box);
    onDone(null);
  });

  live.on(async () => {
    if (!box.isConnected || !area.isConnected) return;
    try {
      const now = await target.own();
      if (now.version !== base.version) {
        replace(
          stale,
          h(
            "div",
            { class: "notice", role: "status" },
            `The own config changed elsewhere (now version ${now.version}; you are editing version ${base.version}). `,
            reloadButton(),
          ),
        );
      }
    } catch {
      // the tree shows the error; the editor keeps its text
    }
  });

  replace(
    box,
    h(
      "div",
      { class: "card editor" },
      h(
        "div",
        { class: "editor-head" },
        h("h2", { class: "card-title" }, `Own config of ${target.node}`),
        badge(`version ${base.version}`, "neutral"),
      ),
      h(
        "p",
        { class: "muted small" },
        "These are this node's overrides, merged over its ancestors. ",
        h("code", { text: "null" }),
        " hides an inherited key; secrets show as ",
        h("code", { text: '"********"' }),
        " and keep their value unless you replace them.",
      ),
      stale,
      h("label", { for: areaId, class: "sr-only", text: `Own config of ${target.node} (JSON)` }),
      area,
      status,
      // folded: while editing, the JSON editor is the page's one text box
      h("details", { class: "reason-box" }, h("summary", { text: "Add a reason (optional)" }), reason.wrap),
      h("div", { class: "actions" }, previewButton, saveButton, cancelButton),
      result,
      previewBox,
    ),
  );
  load(base);
  area.focus();
}
