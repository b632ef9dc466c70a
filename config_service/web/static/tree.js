// The effective config as a collapsible tree. Every leaf names the node that set it (explain),
// its own-config version, a lock badge where a locked path covers it, and the ancestor values it
// overrides — so a team sees at a glance why its agents run with what they run with.

import { h, jsonText, pointerSegment } from "./dom.js";
import { badge } from "./ui.js";

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function parentOf(pointer) {
  const index = pointer.lastIndexOf("/");
  return index <= 0 ? "" : pointer.slice(0, index);
}

function lastSegment(pointer) {
  return pointer
    .slice(pointer.lastIndexOf("/") + 1)
    .replaceAll("~1", "/")
    .replaceAll("~0", "~");
}

/**
 * Build the tree. `explain` is {pointer: {value, node_id, version, locked_by, secret, overrides}};
 * `closed` is the set of folded branch pointers (kept across live re-renders: every other branch,
 * a new one too, shows open, so each leaf is in sight); `self` the node shown.
 */
export function configTree(effective, explain, { closed, self, nodeHash, filter = "" }) {
  const paths = explain || {};
  // Tombstones (a null that hides an inherited key) are not in the effective config; show them
  // where they would be, so "why is this key missing?" has an answer too.
  const tombstones = new Map();
  for (const [pointer, entry] of Object.entries(paths)) {
    if (entry.value !== null) continue;
    const parent = parentOf(pointer);
    if (!tombstones.has(parent)) tombstones.set(parent, []);
    tombstones.get(parent).push(pointer);
  }
  const needle = filter.trim().toLowerCase();
  const matches = (pointer) => !needle || pointer.toLowerCase().includes(needle);

  const sourceBadge = (entry) => {
    if (!entry) return null;
    const own = entry.node_id === self;
    // the node that set it, by name — its own values too ("sre · own · v3")
    const label = `${entry.node_id}${own ? " · own" : ""} · v${entry.version ?? "?"}`;
    const title = own ? "Set by this node's own config" : `Inherited: set by ${entry.node_id}`;
    if (!own && nodeHash) {
      return h("a", { class: "badge badge-source", href: nodeHash(entry.node_id), title, text: label });
    }
    return badge(label, own ? "own" : "source", title);
  };

  const leaf = (key, value, pointer) => {
    const entry = paths[pointer];
    const locked = entry?.locked_by;
    return h(
      "li",
      { class: "leaf", dataset: { path: pointer } },
      h("span", { class: "key", text: key }),
      h("code", { class: ["value", `value-${value === null ? "null" : typeof value}`], text: jsonText(value) }),
      h(
        "span",
        { class: "leaf-meta" },
        sourceBadge(entry),
        entry?.secret ? badge("secret", "secret", "A secret: always shown masked") : null,
        locked
          ? badge(`locked by ${locked}`, "lock", `Locked at ${locked}: only ${locked} or above can change it`)
          : null,
      ),
      entry?.overrides?.length
        ? h(
            "span",
            { class: "overrides" },
            "overrides ",
            entry.overrides.map((o, i) => [
              i ? ", " : "",
              h("span", { class: "override-node", text: o.node_id }),
              " = ",
              h("code", { text: jsonText(o.value) }),
            ]),
          )
        : null,
    );
  };

  const tombstone = (pointer) => {
    const entry = paths[pointer];
    return h(
      "li",
      { class: "leaf tombstone", dataset: { path: pointer } },
      h("span", { class: "key", text: lastSegment(pointer) }),
      h("span", { class: "value muted", text: "removed" }),
      h(
        "span",
        { class: "leaf-meta" },
        sourceBadge(entry),
        entry.locked_by ? badge(`locked by ${entry.locked_by}`, "lock") : null,
      ),
      entry.overrides?.length
        ? h(
            "span",
            { class: "overrides" },
            "hides ",
            entry.overrides.map((o, i) => [
              i ? ", " : "",
              h("span", { class: "override-node", text: o.node_id }),
              " = ",
              h("code", { text: jsonText(o.value) }),
            ]),
          )
        : null,
    );
  };

  const branch = (object, pointer, depth) => {
    const items = [];
    for (const key of Object.keys(object).sort()) {
      const value = object[key];
      const child = `${pointer}/${pointerSegment(key)}`;
      if (isObject(value) && Object.keys(value).length) {
        const inner = branch(value, child, depth + 1);
        if (!inner.childElementCount && needle) continue;
        const details = h(
          "details",
          { open: needle ? true : !closed.has(child) },
          h(
            "summary",
            {},
            h("span", { class: "key", text: key }),
            h("span", {
              class: "count",
              text: `${Object.keys(value).length} ${Object.keys(value).length === 1 ? "key" : "keys"}`,
            }),
          ),
          inner,
        );
        details.addEventListener("toggle", () => {
          if (needle) return;
          if (details.open) closed.delete(child);
          else closed.add(child);
        });
        items.push(h("li", { class: "branch", dataset: { path: child } }, details));
      } else if (matches(child)) {
        items.push(leaf(key, value, child));
      }
    }
    for (const pointer2 of tombstones.get(pointer) || []) {
      if (matches(pointer2) && !(lastSegment(pointer2) in object)) items.push(tombstone(pointer2));
    }
    return h("ul", { class: depth === 0 ? "tree-root" : "tree-level" }, items);
  };

  return branch(effective, "", 0);
}

/** Every branch pointer of a document (for "collapse all"). */
export function branchPointers(object, pointer = "", out = new Set()) {
  for (const [key, value] of Object.entries(object)) {
    if (isObject(value) && Object.keys(value).length) {
      const child = `${pointer}/${pointerSegment(key)}`;
      out.add(child);
      branchPointers(value, child, out);
    }
  }
  return out;
}
