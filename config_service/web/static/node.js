// One node's page — a team's own node, or any node an admin opens: the effective config with
// its provenance, the editor, history, integrations, agent runs and (admins) locks. The same
// page reads the team routes (/config/me…) or the admin node routes through a "target".

import { enc, get } from "./api.js";
import { h, replace } from "./dom.js";
import { badge, errorBox, loading, short } from "./ui.js";
import { watch } from "./live.js";
import { configSection } from "./config_view.js";
import { historySection } from "./history.js";
import { integrationsSection } from "./integrations.js";
import { runsSection } from "./runs.js";
import { locksSection } from "./locks.js";

/** The team's own node, through /config/me… (reads masked: a person's screen never shows a secret). */
export function teamTarget(me) {
  const canWrite = me.scopes.includes("config:write");
  return {
    kind: "team",
    org: me.org_id,
    node: me.team_node_id,
    canWrite,
    effective: "/config/me/effective?secrets=masked",
    explain: "/config/me/explain",
    async own() {
      const raw = await get("/config/me/raw");
      const entry = raw.lineage[raw.lineage.length - 1];
      return { config: raw.configs[entry.node_id] || {}, version: entry.version };
    },
    write: "/config/me",
    ifMatch: (version) => `"v${version}"`,
    preview: "/config/me/preview",
    history: "/config/me/history",
    version: (v) => `/config/me/history/${v}`,
    diff: "/config/me/diff",
    rollback: "/config/me/rollback",
    watch: "/config/me/watch?secrets=masked",
    health: "/integrations/health",
    runs: { path: "/agent-runs", query: {} },
    stats: { path: "/agent-runs/stats", query: {} },
    nodeHash: null,
    sectionHash: (section) => `#/${section}`,
  };
}

/** Any node of an org, through the admin node routes (masked anyway; the console asks it too). */
export function adminTarget(org, node) {
  const base = `/admin/orgs/${enc(org)}/nodes/${enc(node)}`;
  const page = `#/orgs/${enc(org)}/nodes/${enc(node)}`;
  return {
    kind: "admin",
    org,
    node,
    canWrite: true,
    effective: `${base}/effective?secrets=masked`,
    explain: `${base}/explain`,
    async own() {
      const view = await get(`${base}/config`);
      return { config: view.config, version: view.version, locked: view.locked_paths };
    },
    write: `${base}/config`,
    ifMatch: (version) => `"${version}"`,
    preview: `${base}/config/preview`,
    history: `${base}/history`,
    version: (v) => `${base}/history/${v}`,
    diff: `${base}/diff`,
    rollback: `${base}/config/rollback`,
    watch: `${base}/watch?secrets=masked`,
    health: `${base}/integrations/health`,
    locks: `${base}/locks`,
    runs: { path: `/admin/orgs/${enc(org)}/agent-runs`, query: { team_node_id: node } },
    stats: { path: "/agent-runs/stats", query: { org_id: org, team_node_id: node } },
    nodeHash: (other) => `#/orgs/${enc(org)}/nodes/${enc(other)}`,
    sectionHash: (section) => (section === "config" ? page : `${page}/${section}`),
  };
}

const SECTIONS = [
  ["config", "Effective config"],
  ["history", "History"],
  ["integrations", "Integrations"],
  ["runs", "Agent runs"],
  ["locks", "Locks"],
];

const LIVE_TEXT = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  revoked: "token revoked",
  gone: "node deleted or moved",
  refused: "not following",
};

/** A tiny publish/subscribe of the node's current effective view, fed by the watch. */
function liveView(initial) {
  const listeners = new Set();
  return {
    current: initial,
    on(fn) {
      listeners.add(fn);
    },
    set(view) {
      const changed = view.etag !== this.current.etag;
      this.current = view;
      if (changed) listeners.forEach((fn) => fn(view));
    },
  };
}

function breadcrumb(target, hierarchy) {
  return h(
    "ol",
    { class: "crumbs", "aria-label": "Lineage" },
    hierarchy.map((id, index) => {
      const last = index === hierarchy.length - 1;
      const label =
        last || !target.nodeHash ? h("span", { text: id }) : h("a", { href: target.nodeHash(id), text: id });
      return h("li", { "aria-current": last ? "page" : null }, label);
    }),
  );
}

export async function renderNode(ctx, target, section) {
  const { main, signal } = ctx;
  document.title = `${target.node} · Config Service`;
  replace(main, loading());
  let view;
  try {
    view = await get(target.effective, { signal });
  } catch (error) {
    if (signal.aborted) return;
    replace(main, h("h1", { text: target.node }), errorBox(error));
    return;
  }
  const live = liveView(view);
  const versionEl = h("span", { class: "meta-item" });
  const etagEl = h("code", { class: "meta-item" });
  const livePill = h("span", { class: "live-pill", dataset: { state: "connecting" }, role: "status" });
  const setLive = (state) => {
    livePill.dataset.state = state;
    livePill.textContent = LIVE_TEXT[state] || state;
    // a revoked token: the next call answers 401, which returns to the sign-in page
    if (state === "revoked") get("/auth/me").catch(() => {});
  };
  const showMeta = (v) => {
    versionEl.textContent = `own version ${v.version}`;
    etagEl.textContent = `etag ${short(v.etag, 12)}`;
    etagEl.title = v.etag;
  };
  setLive("connecting");
  showMeta(view);
  live.on(showMeta);

  const subnav =
    target.kind === "admin"
      ? h(
          "nav",
          { class: "tabs", "aria-label": "Node sections" },
          SECTIONS.map(([key, label]) =>
            h("a", {
              href: target.sectionHash(key),
              class: "tab",
              "aria-current": key === section ? "page" : null,
              text: label,
            }),
          ),
        )
      : null;
  const body = h("div", { class: "section-body" });
  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "page-title" },
        h("h1", { text: target.node }),
        target.kind === "admin" ? badge("admin view", "info") : null,
        !target.canWrite ? badge("read-only token", "neutral", "This token has no config:write scope") : null,
      ),
      breadcrumb(target, view.hierarchy),
      h("div", { class: "meta" }, versionEl, etagEl, livePill),
    ),
    subnav,
    body,
  );

  watch(target.watch, {
    signal,
    onConfig: (data) => live.set({ ...live.current, ...data }),
    onStatus: setLive,
  });

  const sections = {
    config: configSection,
    history: historySection,
    integrations: integrationsSection,
    runs: runsSection,
    locks: locksSection,
  };
  const render = target.kind === "team" && section === "locks" ? configSection : sections[section];
  await render({ ...ctx, body, target, live });
}
