// Tokens of an org: every team token (issue — shown once, with a copy button — and revoke),
// and the org-admin tokens.

import { enc, get, getAll, post } from "./api.js";
import { h, relativeTime, replace, shortTime, uid } from "./dom.js";
import { badge, busy, errorBox, field, loading, messageSlot, table } from "./ui.js";

const SCOPES = [
  ["config:read", true, "read its effective config, history, explain"],
  ["config:write", false, "change its own config"],
  ["secrets:read", true, "read secrets in plaintext (agents need it)"],
  ["runs:write", true, "record agent runs"],
];

function tokenStatus(t) {
  if (t.revoked_at) return badge("revoked", "danger", `revoked ${shortTime(t.revoked_at)}`);
  if (t.expires_at && new Date(t.expires_at) <= new Date()) return badge("expired", "warn");
  return badge("active", "ok");
}

function issuedCard(issued, onDone) {
  const id = uid("newtok");
  const input = h("input", { id, type: "text", readonly: true, class: "code token-value", value: issued.token });
  const note = h("span", { class: "copy-note", role: "status" });
  const copy = h("button", { type: "button", class: "secondary", text: "Copy" });
  copy.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(issued.token);
      note.textContent = "Copied.";
    } catch {
      note.textContent = document.execCommand("copy") ? "Copied." : "Select the text and copy it.";
    }
  });
  const done = h("button", { type: "button", class: "ghost", text: "Done" });
  const card = h(
    "div",
    { class: "card issued", role: "region", "aria-label": "Issued token" },
    h("h2", { class: "card-title", text: `Token issued for ${issued.team_node_id || issued.org_id}` }),
    h("p", { class: "warning-text", text: "Copy it now: it is shown only once and cannot be retrieved later." }),
    h("label", { for: id, class: "sr-only", text: "New token" }),
    h("div", { class: "copy-row" }, input, copy, note),
    h("p", {
      class: "muted small",
      text:
        `Scopes: ${issued.scopes.join(", ") || "—"} · ` +
        `expires ${issued.expires_at ? shortTime(issued.expires_at) : "never"}`,
    }),
    h("div", { class: "actions" }, done),
  );
  done.addEventListener("click", () => {
    input.value = "";
    card.remove();
    onDone();
  });
  return { card, focus: () => input.select() };
}

export async function renderTokens(ctx, org) {
  const { main, me, signal } = ctx;
  document.title = `${org} · Tokens · Config Service`;
  replace(main, loading());
  const base = `/admin/orgs/${enc(org)}`;
  let nodes;
  try {
    nodes = await getAll(`${base}/nodes`);
  } catch (error) {
    if (!signal.aborted) replace(main, h("h1", { text: org }), errorBox(error));
    return;
  }
  const slot = messageSlot();
  const issuedBox = h("div", {});
  const listBox = h("div", {}, loading());
  const adminBox = h("div", {}, loading());
  const filterSelect = h(
    "select",
    {},
    h("option", { value: "", text: "All nodes" }),
    nodes.map((n) => h("option", { value: n.node_id, text: n.node_id })),
  );

  const revokeButton = (path, label, reload) => {
    const button = h("button", { type: "button", class: "danger-outline small", text: "Revoke" });
    button.addEventListener("click", () =>
      busy(
        button,
        async () => {
          await post(path);
          slot.ok(`Token ${label} revoked: it stops working everywhere within a second.`);
          await reload();
        },
        slot,
      ),
    );
    return button;
  };

  const loadTeamTokens = async () => {
    try {
      const page = await get(`${base}/tokens`, { query: { team_node_id: filterSelect.value, limit: 200 }, signal });
      replace(
        listBox,
        table(
          [
            { label: "Token", cell: (t) => h("code", { text: `${t.token_hint}…` }) },
            {
              label: "Node",
              cell: (t) => h("a", { href: `#/orgs/${enc(org)}/nodes/${enc(t.team_node_id)}`, text: t.team_node_id }),
            },
            { label: "Description", cell: (t) => t.description || "—" },
            {
              label: "Scopes",
              cell: (t) =>
                h(
                  "span",
                  { class: "scopes" },
                  t.scopes.map((s) => badge(s, s === "config:write" ? "warn" : "neutral")),
                ),
            },
            {
              label: "Created",
              cell: (t) => h("span", { title: shortTime(t.created_at), text: relativeTime(t.created_at) }),
            },
            { label: "Expires", cell: (t) => (t.expires_at ? shortTime(t.expires_at) : "never") },
            { label: "Last used", cell: (t) => (t.last_used_at ? relativeTime(t.last_used_at) : "never") },
            { label: "Status", cell: tokenStatus },
            {
              label: "",
              class: "row-actions",
              cell: (t) =>
                t.revoked_at
                  ? null
                  : revokeButton(
                      `${base}/teams/${enc(t.team_node_id)}/tokens/${enc(t.id)}/revoke`,
                      `${t.token_hint}…`,
                      loadTeamTokens,
                    ),
            },
          ],
          page.items,
          { empty: "No team tokens yet.", caption: "Team tokens" },
        ),
      );
    } catch (error) {
      if (!signal.aborted) replace(listBox, errorBox(error));
    }
  };

  const loadAdminTokens = async () => {
    try {
      const page = await get(`${base}/admin-tokens`, { query: { limit: 200 }, signal });
      adminCount.textContent = `(${page.items.filter((t) => !t.revoked_at).length} active)`;
      replace(
        adminBox,
        table(
          [
            { label: "Token", cell: (t) => h("code", { text: `${t.token_hint}…` }) },
            { label: "Description", cell: (t) => t.description || "—" },
            {
              label: "Created",
              cell: (t) => h("span", { title: shortTime(t.created_at), text: relativeTime(t.created_at) }),
            },
            { label: "Expires", cell: (t) => (t.expires_at ? shortTime(t.expires_at) : "never") },
            { label: "Last used", cell: (t) => (t.last_used_at ? relativeTime(t.last_used_at) : "never") },
            { label: "Status", cell: tokenStatus },
            {
              label: "",
              class: "row-actions",
              cell: (t) =>
                t.revoked_at
                  ? null
                  : revokeButton(`${base}/admin-tokens/${enc(t.id)}/revoke`, `${t.token_hint}…`, loadAdminTokens),
            },
          ],
          page.items,
          { empty: "No org-admin tokens.", caption: "Org-admin tokens" },
        ),
      );
    } catch (error) {
      if (!signal.aborted) replace(adminBox, errorBox(error));
    }
  };

  const showIssued = (issued) => {
    const { card, focus } = issuedCard(issued, () => replace(issuedBox));
    replace(issuedBox, card);
    focus();
  };

  // issue a team token
  const nodeSelect = h(
    "select",
    { required: true },
    nodes.map((n) =>
      h("option", { value: n.node_id, text: n.node_type === "org" ? `${n.node_id} (org root)` : n.node_id }),
    ),
  );
  if (nodes.length > 1) nodeSelect.value = nodes[1].node_id;
  const description = h("input", { type: "text", maxlength: 500, placeholder: "e.g. planner agent, prod" });
  const days = h("input", { type: "number", min: 1, max: 3650, class: "narrow", placeholder: "never" });
  const boxes = SCOPES.map(([scope, checked, hint]) => {
    const box = h("input", { type: "checkbox", id: uid("scope"), value: scope, checked });
    return { box, el: h("label", { class: "check", for: box.id, title: hint }, box, h("code", { text: scope })) };
  });
  const issueSlot = messageSlot();
  const issue = h("button", { type: "submit", class: "primary", text: "Issue token" });
  const form = h(
    "form",
    { class: "issue-form", novalidate: true },
    h(
      "div",
      { class: "inline-form" },
      field("Node", nodeSelect).wrap,
      field("Description", description).wrap,
      field("Expires in days", days).wrap,
    ),
    h(
      "fieldset",
      { class: "scopes-field" },
      h("legend", { text: "Scopes" }),
      boxes.map((b) => b.el),
    ),
    issueSlot.el,
    h("div", { class: "actions" }, issue),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(
      issue,
      async () => {
        const body = { scopes: boxes.filter((b) => b.box.checked).map((b) => b.box.value) };
        if (description.value.trim()) body.description = description.value.trim();
        if (days.value) body.expires_in_days = Number(days.value);
        const issued = await post(`${base}/teams/${enc(nodeSelect.value)}/tokens`, body);
        description.value = "";
        showIssued(issued);
        await loadTeamTokens();
      },
      issueSlot,
    );
  });

  let adminIssue = null;
  if (me.auth_kind === "global_admin") {
    const adminDescription = h("input", { type: "text", maxlength: 500, placeholder: "e.g. platform team" });
    const adminSlot = messageSlot();
    const adminButton = h("button", { type: "submit", class: "secondary", text: "Issue admin token" });
    adminIssue = h(
      "form",
      { class: "inline-form", novalidate: true },
      field("Admin token description", adminDescription).wrap,
      adminButton,
      adminSlot.el,
    );
    adminIssue.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(
        adminButton,
        async () => {
          const body = adminDescription.value.trim() ? { description: adminDescription.value.trim() } : {};
          const issued = await post(`${base}/admin-tokens`, body);
          adminDescription.value = "";
          adminCard.open = true;
          showIssued(issued);
          await loadAdminTokens();
        },
        adminSlot,
      );
    });
  }

  // Folded until asked for: the page's Revoke buttons are then the team tokens' only (an org
  // admin's own token is in this list; one click away, not one mistaken click away).
  const adminCount = h("span", { class: "count" });
  const adminCard = h(
    "details",
    { class: "card admin-tokens" },
    h("summary", { class: "card-title" }, "Org-admin tokens ", adminCount),
    adminIssue,
    adminBox,
  );
  filterSelect.addEventListener("change", loadTeamTokens);
  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "page-title" }, h("h1", { text: `${org}: access` })),
      h("p", {
        class: "muted",
        text: "Agents authenticate with team tokens; tokens are stored hashed and shown only when issued.",
      }),
    ),
    h("div", { class: "card" }, h("h2", { class: "card-title", text: "New team token" }), form),
    issuedBox,
    slot.el,
    h(
      "div",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", { class: "card-title", text: "Team tokens" }),
        field("Show", filterSelect).wrap,
      ),
      listBox,
    ),
    adminCard,
  );
  await Promise.all([loadTeamTokens(), loadAdminTokens()]);
}
