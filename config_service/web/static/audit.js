// The audit log of an org: filters (actor, action, target, since, until), paging, and export
// as CSV or JSON (fetched with the token in the header, saved through a Blob).

import { download, enc, get } from "./api.js";
import { h, jsonText, replace, shortTime } from "./dom.js";
import { badge, busy, errorBox, field, loading, messageSlot, table } from "./ui.js";
import { actorText } from "./history.js";

const ACTIONS = [
  "config.written",
  "config.rolled_back",
  "locks.changed",
  "node.created",
  "node.renamed",
  "node.moved",
  "node.deleted",
  "org.created",
  "org.deleted",
  "token.issued",
  "token.revoked",
  "secrets.read",
  "routing.lookup",
];

/** A uuid shortened for display (the full id stays in the title); other ids as they are. */
function shortId(id) {
  if (!id) return "—";
  return /^[0-9a-f]{8}-[0-9a-f-]{27}$/.test(id) ? `${id.slice(0, 8)}…` : id;
}

/** An event's details as "key value" pairs: strings unquoted, lists joined, nulls left out. */
function detailsView(details) {
  const entries = Object.entries(details || {}).filter(([, v]) => v !== null && v !== undefined);
  if (!entries.length) return h("span", { class: "muted", text: "—" });
  return h(
    "span",
    { class: "kvs" },
    entries.map(([key, value]) =>
      h(
        "span",
        { class: "kv" },
        h("span", { class: "k", text: key }),
        h("span", {
          class: "v",
          text:
            typeof value === "string"
              ? value
              : Array.isArray(value)
                ? value.map((x) => (typeof x === "string" ? x : jsonText(x))).join(", ")
                : jsonText(value),
        }),
      ),
    ),
  );
}

function toIso(local) {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

export async function renderAudit(ctx, org) {
  const { main, signal } = ctx;
  document.title = `${org} · Audit · Config Service`;
  const path = `/admin/orgs/${enc(org)}/audit`;
  const actor = h("input", { type: "text", placeholder: "admin, team:…" });
  const action = h("input", { type: "text", list: "audit-actions", placeholder: "config.written" });
  const target = h("input", { type: "text", placeholder: "node or token id" });
  const since = h("input", { type: "datetime-local" });
  const until = h("input", { type: "datetime-local" });
  const apply = h("button", { type: "submit", class: "primary", text: "Apply filters" });
  const reset = h("button", { type: "reset", class: "ghost", text: "Clear" });
  const exportCsv = h("button", { type: "button", class: "secondary", text: "Export CSV" });
  const exportJson = h("button", { type: "button", class: "secondary", text: "Export JSON" });
  const more = h("button", { type: "button", class: "secondary", text: "Load more", hidden: true });
  const slot = messageSlot();
  const listBox = h("div", {}, loading());
  let rows = [];
  let cursor = null;

  const filters = () => ({
    actor: actor.value.trim(),
    action: action.value.trim(),
    target_id: target.value.trim(),
    since: toIso(since.value),
    until: toIso(until.value),
  });

  const draw = () => {
    replace(
      listBox,
      table(
        [
          { label: "When", cell: (e) => h("span", { class: "nowrap", text: shortTime(e.at) }) },
          { label: "Actor", cell: (e) => h("span", { title: e.actor, text: actorText(e.actor) }) },
          {
            label: "Action",
            cell: (e) =>
              badge(e.action, e.action.includes("delete") || e.action.includes("revoke") ? "danger" : "neutral"),
          },
          {
            label: "Target",
            cell: (e) => [
              h("span", { class: "muted", text: `${e.target_type} ` }),
              h("code", { title: e.target_id || "", text: shortId(e.target_id) }),
            ],
          },
          { label: "Details", class: "details-cell", cell: (e) => detailsView(e.details) },
        ],
        rows,
        { empty: "No audit events match these filters.", caption: "Audit events" },
      ),
    );
  };

  const load = async (append) => {
    const page = await get(path, { query: { ...filters(), limit: 50, cursor: append ? cursor : undefined }, signal });
    rows = append ? rows.concat(page.items) : page.items;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    draw();
  };

  const form = h(
    "form",
    { class: "filters", novalidate: true },
    field("Actor", actor).wrap,
    field("Action", action).wrap,
    field("Target", target).wrap,
    field("Since", since).wrap,
    field("Until", until).wrap,
    h(
      "datalist",
      { id: "audit-actions" },
      ACTIONS.map((a) => h("option", { value: a })),
    ),
    h("div", { class: "actions" }, apply, reset),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(apply, () => load(false), slot);
  });
  form.addEventListener("reset", () => setTimeout(() => busy(apply, () => load(false), slot)));
  more.addEventListener("click", () => busy(more, () => load(true), slot));
  exportCsv.addEventListener("click", () =>
    busy(exportCsv, () => download(`${path}/export`, { ...filters(), format: "csv" }, `audit-${org}.csv`), slot),
  );
  exportJson.addEventListener("click", () =>
    busy(exportJson, () => download(`${path}/export`, { ...filters(), format: "json" }, `audit-${org}.json`), slot),
  );

  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "page-title" }, h("h1", { text: `${org}: audit log` })),
      h("p", { class: "muted", text: "Every change and every sensitive read, newest first. Times are UTC." }),
    ),
    h("div", { class: "card" }, form),
    h(
      "div",
      { class: "toolbar" },
      h("div", { class: "toolbar-left" }),
      h("div", { class: "toolbar-right" }, exportCsv, exportJson),
    ),
    slot.el,
    listBox,
    more,
  );
  try {
    await load(false);
  } catch (error) {
    if (!signal.aborted) replace(listBox, errorBox(error));
  }
}
