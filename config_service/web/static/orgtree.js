// The org tree: every node of one org; add, move and delete nodes (a delete that takes
// descendants with it needs an explicit cascade confirmation).

import { del, enc, get, patch, post } from "./api.js";
import { h, replace } from "./dom.js";
import { badge, busy, confirmDialog, errorBox, field, loading, messageSlot } from "./ui.js";

function flatten(node, depth = 0, out = []) {
  out.push({ node, depth });
  node.children.forEach((child) => flatten(child, depth + 1, out));
  return out;
}

function descendants(node) {
  return flatten(node)
    .slice(1)
    .map((entry) => entry.node.node_id);
}

export async function renderOrgTree(ctx, org) {
  const { main, signal } = ctx;
  document.title = `${org} · Org tree · Config Service`;
  replace(main, loading());
  const slot = messageSlot();
  const treeBox = h("div", { class: "org-tree" });
  const parentSelect = h("select", {});
  let tree;

  const nodeHash = (id) => `#/orgs/${enc(org)}/nodes/${enc(id)}`;

  const moveNode = async (node, button) => {
    const blocked = new Set([node.node_id, ...descendants(node)]);
    const choices = flatten(tree.root).filter(
      (e) => !blocked.has(e.node.node_id) && e.node.node_id !== node.parent_node_id,
    );
    if (!choices.length) {
      slot.error({ detail: `${node.node_id} has nowhere else to go.` });
      return;
    }
    const select = h(
      "select",
      {},
      choices.map((e) => h("option", { value: e.node.node_id, text: `${"— ".repeat(e.depth)}${e.node.node_id}` })),
    );
    const ok = await confirmDialog({
      title: `Move ${node.node_id}`,
      body: [
        h("p", {
          class: "muted",
          text:
            "Its subtree moves with it and inherits from the new parent; " +
            "watchers of moved nodes are closed and reconnect.",
        }),
        field("New parent", select).wrap,
      ],
      confirmLabel: "Move",
    });
    if (!ok) return;
    await busy(
      button,
      async () => {
        await patch(`/admin/orgs/${enc(org)}/nodes/${enc(node.node_id)}`, { parent_node_id: select.value });
        slot.ok(`${node.node_id} moved under ${select.value}.`);
        await load();
      },
      slot,
    );
  };

  const deleteNode = async (node, button) => {
    const below = descendants(node);
    const ok = await confirmDialog({
      title: `Delete ${node.node_id}?`,
      body: [
        h("p", {}, "Its config and history are deleted, its tokens revoked and its routing claims freed."),
        below.length
          ? h(
              "p",
              { class: "warning-text" },
              `It has ${below.length} descendant${below.length === 1 ? "" : "s"}: `,
              below.map((id, i) => [i ? ", " : "", h("code", { text: id })]),
              ".",
            )
          : null,
      ],
      confirmLabel: "Delete",
      danger: true,
      check: below.length
        ? `Also delete its ${below.length} descendant${below.length === 1 ? "" : "s"} (cascade)`
        : null,
    });
    if (!ok) return;
    await busy(
      button,
      async () => {
        await del(`/admin/orgs/${enc(org)}/nodes/${enc(node.node_id)}`, {
          query: below.length ? { cascade: true } : {},
        });
        slot.ok(below.length ? `${node.node_id} and ${below.length} descendants deleted.` : `${node.node_id} deleted.`);
        await load();
      },
      slot,
    );
  };

  const nodeItem = (node, isRoot) => {
    const actions = [];
    if (!isRoot) {
      const move = h("button", { type: "button", class: "ghost small", text: "Move" });
      move.addEventListener("click", () => moveNode(node, move));
      const remove = h("button", { type: "button", class: "ghost small danger-text", text: "Delete" });
      remove.addEventListener("click", () => deleteNode(node, remove));
      actions.push(move, remove);
    }
    return h(
      "li",
      { dataset: { node: node.node_id } },
      h(
        "div",
        { class: "tree-node" },
        h("a", { href: nodeHash(node.node_id), class: "node-link", text: node.node_id }),
        node.name && node.name !== node.node_id ? h("span", { class: "muted", text: node.name }) : null,
        isRoot ? badge("org root", "info") : null,
        node.children.length ? h("span", { class: "count", text: `${node.children.length} below` }) : null,
        h("span", { class: "node-actions" }, actions),
      ),
      node.children.length
        ? h(
            "ul",
            {},
            node.children.map((child) => nodeItem(child, false)),
          )
        : null,
    );
  };

  const load = async () => {
    try {
      tree = await get(`/admin/orgs/${enc(org)}/tree`, { signal });
    } catch (error) {
      if (!signal.aborted) replace(treeBox, errorBox(error));
      return false;
    }
    const keep = parentSelect.value;
    replace(
      parentSelect,
      flatten(tree.root).map((e) =>
        h("option", {
          value: e.node.node_id,
          text: `${"— ".repeat(e.depth)}${e.node.node_id}`,
        }),
      ),
    );
    if (keep && [...parentSelect.options].some((o) => o.value === keep)) parentSelect.value = keep;
    replace(treeBox, h("ul", { class: "org-tree-root" }, nodeItem(tree.root, true)));
    return true;
  };

  const idInput = h("input", { type: "text", required: true, placeholder: "team-id", autocomplete: "off" });
  const nameInput = h("input", { type: "text", placeholder: "Display name (optional)" });
  const addSlot = messageSlot();
  const add = h("button", { type: "submit", class: "primary", text: "Add node" });
  const form = h(
    "form",
    { class: "inline-form", novalidate: true },
    field("Node ID", idInput).wrap,
    field("Name", nameInput).wrap,
    field("Parent", parentSelect).wrap,
    add,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(
      add,
      async () => {
        const body = { node_id: idInput.value.trim(), parent_node_id: parentSelect.value };
        if (nameInput.value.trim()) body.name = nameInput.value.trim();
        const node = await post(`/admin/orgs/${enc(org)}/nodes`, body);
        idInput.value = "";
        nameInput.value = "";
        addSlot.ok(`${node.node_id} added under ${node.parent_node_id}.`);
        await load();
        idInput.focus();
      },
      addSlot,
    );
  });

  const ok = await load();
  if (!ok) {
    replace(main, h("div", { class: "page-head" }, h("div", { class: "page-title" }, h("h1", { text: org }))), treeBox);
    return;
  }
  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "page-title" }, h("h1", { text: org }), badge("org", "info")),
      h("p", { class: "muted", text: "Nodes inherit their ancestors' config; open one to see and edit it." }),
    ),
    h("div", { class: "card" }, h("h2", { class: "card-title", text: "New node" }), form, addSlot.el),
    slot.el,
    h("section", { class: "card", "aria-label": "Org tree" }, treeBox),
  );
}
