// The "Effective config" section: the provenance tree, and the editor of the node's own config.

import { get } from "./api.js";
import { h, replace } from "./dom.js";
import { badge, errorBox, loading, messageSlot } from "./ui.js";
import { branchPointers, configTree } from "./tree.js";
import { openEditor } from "./editor.js";

export async function configSection({ body, target, live, signal }) {
  const closed = new Set(); // the branches folded by hand; every other one shows open
  let explain = null;
  let explainError = null;
  let sequence = 0;
  const treeBox = h("section", { class: "tree", "aria-label": "Effective config" }, loading());
  const filter = h("input", {
    type: "search",
    id: "tree-filter",
    placeholder: "Filter keys…",
    "aria-label": "Filter keys",
  });
  const editorBox = h("div", { class: "editor-box" });
  const slot = messageSlot();

  const draw = () => {
    const effective = live.current.effective_config;
    if (explainError) {
      replace(treeBox, errorBox(explainError));
      return;
    }
    if (!Object.keys(effective).length && !Object.keys(explain || {}).length) {
      replace(
        treeBox,
        h("p", {
          class: "muted empty",
          text: "The effective config is empty: no node on this lineage sets anything yet.",
        }),
      );
      return;
    }
    replace(
      treeBox,
      configTree(effective, explain, {
        closed,
        self: target.node,
        nodeHash: target.nodeHash,
        filter: filter.value,
      }),
    );
  };

  const refresh = async () => {
    const mine = ++sequence;
    try {
      const result = await get(target.explain, { signal });
      if (mine !== sequence) return;
      explain = result.paths;
      explainError = null;
    } catch (error) {
      if (signal.aborted) return;
      explainError = error;
    }
    draw();
  };

  // The node's own config as stored (tombstones as null), read when opened.
  const ownBox = h("div", {});
  const ownView = h("details", { class: "own-view" }, h("summary", { text: "Own config as stored (JSON)" }), ownBox);
  const showOwn = async () => {
    try {
      const own = await target.own();
      replace(
        ownBox,
        h("p", { class: "muted small", text: `Version ${own.version}; null values hide inherited keys.` }),
        h("pre", { class: "code-block", text: JSON.stringify(own.config, null, 2) }),
      );
    } catch (error) {
      if (!signal.aborted) replace(ownBox, errorBox(error));
    }
  };
  ownView.addEventListener("toggle", () => ownView.open && showOwn());

  filter.addEventListener("input", draw);
  const expand = h("button", { type: "button", class: "ghost small", text: "Expand all" });
  expand.addEventListener("click", () => {
    closed.clear();
    draw();
  });
  const collapse = h("button", { type: "button", class: "ghost small", text: "Collapse all" });
  collapse.addEventListener("click", () => {
    branchPointers(live.current.effective_config).forEach((p) => closed.add(p));
    draw();
  });
  const edit = h("button", {
    type: "button",
    class: "primary",
    text: "Edit",
    disabled: !target.canWrite,
    title: target.canWrite ? "Edit this node's own overrides" : "This token cannot write (it lacks config:write)",
  });
  edit.addEventListener("click", async () => {
    edit.disabled = true;
    slot.clear();
    await openEditor({
      box: editorBox,
      target,
      live,
      signal,
      onDone(result) {
        edit.disabled = false;
        edit.focus();
        if (result)
          slot.ok(result.changed ? `Saved: own config is now version ${result.version}.` : "Saved: nothing changed.");
        refresh();
      },
    });
  });

  replace(
    body,
    h(
      "div",
      { class: "toolbar" },
      h("div", { class: "toolbar-left" }, filter, expand, collapse),
      h("div", { class: "toolbar-right" }, edit),
    ),
    slot.el,
    editorBox,
    h(
      "div",
      { class: "legend", "aria-label": "Legend" },
      badge("node · own · v", "own"),
      h("span", { text: "set by this node (own-config version)" }),
      badge("node · v", "source"),
      h("span", { text: "inherited from that ancestor" }),
      badge("lock", "lock"),
      h("span", { text: "only the node that holds the lock, or one above, can change it" }),
    ),
    treeBox,
    ownView,
  );
  live.on(() => {
    refresh();
    if (ownView.open) showOwn();
  });
  await refresh();
}
