// Routing of an org: every identifier claimed by a node's `routing` lists, and a lookup tester
// (the same lookup the incident tooling calls, scoped to this org).

import { enc, get, post } from "./api.js";
import { h, replace } from "./dom.js";
import { badge, busy, errorBox, field, loading, messageSlot, table } from "./ui.js";

const KINDS = [
  "slack_channel_ids",
  "services",
  "github_repos",
  "pagerduty_service_ids",
  "incidentio_team_ids",
  "incidentio_alert_source_ids",
  "coralogix_team_names",
  "slack_workspace_ids",
];
const IDENTIFIERS = [
  ["slack_channel_id", "Slack channel"],
  ["slack_workspace_id", "Slack workspace"],
  ["service", "Service"],
  ["github_repo", "GitHub repo"],
  ["pagerduty_service_id", "PagerDuty service"],
  ["incidentio_team_id", "incident.io team"],
  ["incidentio_alert_source_id", "incident.io alert source"],
  ["coralogix_team_name", "Coralogix team"],
];

export async function renderRouting(ctx, org) {
  const { main, signal } = ctx;
  document.title = `${org} · Routing · Config Service`;
  const base = `/admin/orgs/${enc(org)}`;
  const kindSelect = h(
    "select",
    {},
    h("option", { value: "", text: "All kinds" }),
    KINDS.map((k) => h("option", { value: k, text: k })),
  );
  const nodeInput = h("input", { type: "text", placeholder: "any node" });
  const listBox = h("div", {}, loading());
  const more = h("button", { type: "button", class: "secondary", text: "Load more", hidden: true });
  const slot = messageSlot();
  let rows = [];
  let cursor = null;

  const load = async (append) => {
    const page = await get(`${base}/routing`, {
      query: {
        kind: kindSelect.value,
        node_id: nodeInput.value.trim(),
        limit: 100,
        cursor: append ? cursor : undefined,
      },
      signal,
    });
    rows = append ? rows.concat(page.items) : page.items;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    replace(
      listBox,
      table(
        [
          { label: "Kind", cell: (c) => h("code", { text: c.kind }) },
          { label: "Identifier", cell: (c) => h("strong", { text: c.value }) },
          {
            label: "Node",
            cell: (c) => h("a", { href: `#/orgs/${enc(org)}/nodes/${enc(c.node_id)}`, text: c.node_id }),
          },
        ],
        rows,
        {
          empty: "No routing claims: nodes claim identifiers in their own config's routing lists.",
          caption: "Routing claims",
        },
      ),
    );
  };

  const filterButton = h("button", { type: "submit", class: "secondary", text: "Filter" });
  const filterForm = h(
    "form",
    { class: "inline-form", novalidate: true },
    field("Kind", kindSelect).wrap,
    field("Node", nodeInput).wrap,
    filterButton,
  );
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(filterButton, () => load(false), slot);
  });
  more.addEventListener("click", () => busy(more, () => load(true), slot));

  const identifier = h(
    "select",
    {},
    IDENTIFIERS.map(([key, label]) => h("option", { value: key, text: label })),
  );
  const value = h("input", { type: "text", required: true, placeholder: "C0123456789" });
  const lookupButton = h("button", { type: "submit", class: "primary", text: "Look up" });
  const lookupSlot = messageSlot();
  const result = h("div", { class: "lookup-result", "aria-live": "polite" });
  const lookupForm = h(
    "form",
    { class: "inline-form", novalidate: true },
    field("Identifier", identifier).wrap,
    field("Value", value).wrap,
    lookupButton,
  );
  lookupForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!value.value.trim()) {
      lookupSlot.error({ detail: "Enter a value to look up." });
      return;
    }
    busy(
      lookupButton,
      async () => {
        const answer = await post("/internal/routing/lookup", {
          identifiers: { [identifier.value]: value.value.trim() },
          org_id: org,
        });
        replace(
          result,
          h(
            "dl",
            { class: "facts" },
            h("dt", { text: "Result" }),
            h("dd", {}, answer.found ? badge("found", "ok") : badge("not found", "neutral")),
            answer.found
              ? [
                  h("dt", { text: "Team" }),
                  h(
                    "dd",
                    {},
                    h("a", {
                      href: `#/orgs/${enc(answer.org_id)}/nodes/${enc(answer.team_node_id)}`,
                      text: answer.team_node_id,
                    }),
                  ),
                  h("dt", { text: "Matched by" }),
                  h("dd", {}, h("code", { text: `${answer.matched_by} = ${answer.matched_value}` })),
                ]
              : null,
            h("dt", { text: "Tried" }),
            h("dd", { text: answer.tried.join(" → ") || "—" }),
            answer.ambiguous?.length
              ? [h("dt", { text: "Ambiguous in" }), h("dd", { text: answer.ambiguous.join(", ") })]
              : null,
          ),
        );
      },
      lookupSlot,
    );
  });

  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "page-title" }, h("h1", { text: `${org}: routing` })),
      h("p", {
        class: "muted",
        text: "Which team owns a Slack channel, a service, a repo… Each identifier belongs to one node of the org.",
      }),
    ),
    h(
      "div",
      { class: "card" },
      h("h2", { class: "card-title", text: "Lookup tester" }),
      lookupForm,
      lookupSlot.el,
      result,
    ),
    h("div", { class: "card" }, h("h2", { class: "card-title", text: "Claims" }), filterForm, slot.el, listBox, more),
  );
  try {
    await load(false);
  } catch (error) {
    if (!signal.aborted) replace(listBox, errorBox(error));
  }
}
