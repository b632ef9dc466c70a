// Locks of a node (admins): JSON Pointers that nodes below cannot change.

import { get, put } from "./api.js";
import { h, replace } from "./dom.js";
import { busy, errorBox, field, loading, messageSlot } from "./ui.js";

export async function locksSection({ body, target, signal }) {
  replace(body, loading());
  let view;
  let explain;
  try {
    [view, explain] = await Promise.all([get(target.locks, { signal }), get(target.explain, { signal })]);
  } catch (error) {
    if (!signal.aborted) replace(body, errorBox(error));
    return;
  }
  const area = h("textarea", {
    class: "code short",
    rows: 6,
    spellcheck: "false",
    placeholder: "e.g. /agents/planner/model",
  });
  area.value = view.locked_paths.join("\n");
  const reasonInput = h("input", { type: "text", maxlength: 2000, placeholder: "Why?" });
  const slot = messageSlot();
  const save = h("button", { type: "submit", class: "primary", text: "Save" });
  const form = h(
    "form",
    { class: "locks-form", novalidate: true },
    field(
      "Locked paths (one JSON Pointer per line)",
      area,
      "A locked value can only be changed here or above; every write below that would change it is refused.",
    ).wrap,
    field("Reason (optional)", reasonInput).wrap,
    slot.el,
    h("div", { class: "actions" }, save),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const paths = area.value
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
    busy(
      save,
      async () => {
        const payload = { locked_paths: paths };
        if (reasonInput.value.trim()) payload.reason = reasonInput.value.trim();
        const result = await put(target.locks, payload);
        area.value = result.locked_paths.join("\n");
        slot.ok(
          `Saved: ${result.locked_paths.length} locked path${result.locked_paths.length === 1 ? "" : "s"} ` +
            `at ${target.node}.`,
        );
      },
      slot,
    );
  });
  const above = new Map();
  for (const [pointer, entry] of Object.entries(explain.paths)) {
    if (entry.locked_by && entry.locked_by !== target.node) {
      if (!above.has(entry.locked_by)) above.set(entry.locked_by, []);
      above.get(entry.locked_by).push(pointer);
    }
  }
  replace(
    body,
    h("div", { class: "card" }, h("h2", { class: "card-title", text: `Paths locked at ${target.node}` }), form),
    h(
      "div",
      { class: "card" },
      h("h2", { class: "card-title", text: "Locked above this node" }),
      above.size
        ? h(
            "ul",
            { class: "plain" },
            [...above].map(([node, paths]) =>
              h(
                "li",
                {},
                h("strong", { text: node }),
                ": ",
                paths.map((p, i) => [i ? ", " : "", h("code", { text: p })]),
              ),
            ),
          )
        : h("p", { class: "muted", text: "No value this node inherits is locked by an ancestor." }),
    ),
  );
}
