// The console's entry point: sign-in, the shell (header and navigation) and the hash router.
// Every page is a client of the JSON API; what it shows follows the principal of /auth/me.

import { enc, get, onUnauthenticated, session } from "./api.js";
import { h, replace } from "./dom.js";
import { errorBox, messageSlot } from "./ui.js";
import { adminTarget, renderNode, teamTarget } from "./node.js";
import { renderOrgs } from "./orgs.js";
import { renderOrgTree } from "./orgtree.js";
import { renderTokens } from "./tokens.js";
import { renderAudit } from "./audit.js";
import { renderRouting } from "./routing.js";

const root = document.getElementById("app");
const state = { me: null, pageAbort: null, nav: null, main: null, orgs: null };
const ORG_KEY = "config-service.org"; // the org the global admin looked at last, in this tab

onUnauthenticated(() => {
  if (!state.me) return;
  signOut("Your token is no longer accepted (expired or revoked). Sign in again.");
});

function logo() {
  return h(
    "span",
    { class: "logo", "aria-hidden": "true" },
    h("span", { class: "logo-dot" }),
    h("span", { class: "logo-dot" }),
    h("span", { class: "logo-dot" }),
  );
}

// ---- sign-in -----------------------------------------------------------------------------

function signIn(notice) {
  state.me = null;
  state.pageAbort?.abort();
  document.title = "Sign in · Config Service";
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "token-hint",
  });
  const button = h("button", { type: "submit", class: "primary wide", text: "Sign in" });
  const slot = messageSlot();
  const form = h(
    "form",
    { class: "signin-form", novalidate: true },
    h("label", { for: "token", text: "Token" }),
    input,
    h("small", {
      id: "token-hint",
      class: "hint",
      text: "A team token (org.team.…), an org-admin token (org.…) or the admin token. It is kept in this tab only.",
    }),
    slot.el,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      slot.error({ detail: "Enter a token." });
      input.focus();
      return;
    }
    button.disabled = true;
    session.set(token);
    try {
      const me = await get("/auth/me");
      if (me.role === "internal") {
        session.forget();
        slot.error({ detail: "This is the internal service token: the console needs a team or an admin token." });
        return;
      }
      input.value = "";
      startWith(me);
    } catch (error) {
      session.forget();
      slot.error(error.status === 401 ? { detail: "This token is not valid (unknown, expired or revoked)." } : error);
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  replace(
    root,
    h(
      "main",
      { class: "signin", id: "main" },
      h(
        "div",
        { class: "signin-card" },
        h("div", { class: "brand brand-large" }, logo(), h("span", { text: "Config Service" })),
        h("h1", { text: "Sign in to the console" }),
        h("p", { class: "muted", text: "Configuration for your agents: what each team runs with, and why." }),
        notice ? h("div", { class: "notice", role: "status", text: notice }) : null,
        form,
      ),
    ),
  );
  input.focus();
}

function signOut(notice) {
  session.forget();
  sessionStorage.removeItem(ORG_KEY);
  state.pageAbort?.abort();
  history.replaceState(null, "", "#/");
  signIn(notice);
}

// ---- shell ---------------------------------------------------------------------------------

function whoLabel(me) {
  if (me.auth_kind === "global_admin") return ["global admin", "all orgs"];
  if (me.auth_kind === "org_admin") return ["org admin", me.org_id];
  return ["team", `${me.team_node_id} · ${me.org_id}`];
}

function navLink(label, hash) {
  return h("a", { href: hash, class: "nav-link", dataset: { hash }, text: label });
}

/** The org picker of the global admin: every org, newest first; choosing one opens its tree. */
function orgPicker(org) {
  const select = h(
    "select",
    { id: "org-picker", class: "org-picker" },
    (state.orgs || [org]).map((id) => h("option", { value: id, text: id })),
  );
  select.value = org;
  select.addEventListener("change", () => {
    location.hash = `#/orgs/${enc(select.value)}/tree`;
  });
  return [h("label", { for: "org-picker", class: "nav-group", text: "Org" }), select];
}

function adminNav(me, org) {
  const links = [navLink("Orgs", "#/orgs")];
  if (org) {
    const base = `#/orgs/${enc(org)}`;
    links.push(
      me.auth_kind === "global_admin" ? orgPicker(org) : h("div", { class: "nav-group", text: org }),
      navLink("Org tree", `${base}/tree`),
      navLink("Tokens", `${base}/tokens`),
      navLink("Audit", `${base}/audit`),
      navLink("Routing", `${base}/routing`),
    );
  }
  return links;
}

function teamNav() {
  return [
    navLink("Effective config", "#/config"),
    navLink("History", "#/history"),
    navLink("Integrations", "#/integrations"),
    navLink("Agent runs", "#/runs"),
  ];
}

async function startWith(me) {
  state.me = me;
  state.orgs = null;
  if (me.auth_kind === "global_admin") await refreshOrgs();
  const [role, scope] = whoLabel(me);
  state.nav = h("nav", { class: "sidebar", "aria-label": "Main" });
  state.main = h("main", { id: "main", class: "content", tabindex: "-1" });
  const signOutButton = h("button", { type: "button", class: "ghost small", text: "Sign out" });
  signOutButton.addEventListener("click", () => signOut("Signed out. The token was forgotten by this tab."));
  replace(
    root,
    h(
      "header",
      { class: "topbar" },
      h("a", { class: "brand", href: "#/" }, logo(), h("span", { class: "brand-name", text: "Config Service" })),
      h(
        "div",
        { class: "who" },
        h("span", { class: "who-role", text: role }),
        h("span", { class: "who-scope", text: scope }),
      ),
      signOutButton,
    ),
    h("div", { class: "layout" }, state.nav, state.main),
  );
  if (!location.hash.startsWith("#/") || location.hash === "#/") history.replaceState(null, "", home(me));
  route();
}

function home(me) {
  if (me.role === "team") return "#/config";
  if (me.auth_kind === "org_admin") return `#/orgs/${enc(me.org_id)}/tree`;
  return "#/orgs";
}

function markNav(hash) {
  // a node's pages belong to the org tree
  const effective = hash.replace(/^(#\/orgs\/[^/]+)\/nodes\/.*$/, "$1/tree");
  for (const link of state.nav.querySelectorAll("a.nav-link")) {
    const target = link.dataset.hash;
    const current = effective === target || (target !== "#/orgs" && effective.startsWith(`${target}/`));
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// ---- router --------------------------------------------------------------------------------

function parse(hash) {
  return hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter(Boolean)
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
}

/** The org the admin pages are about: the one in the URL, else the last one opened, else the newest. */
function currentOrg(me, parts) {
  if (me.auth_kind === "org_admin") return me.org_id;
  const inUrl = parts[0] === "orgs" && parts[1] ? parts[1] : null;
  if (inUrl) {
    sessionStorage.setItem(ORG_KEY, inUrl);
    return inUrl;
  }
  const last = sessionStorage.getItem(ORG_KEY);
  if (last && state.orgs?.includes(last)) return last;
  return state.orgs?.[0] || null;
}

function drawNav(me, parts, hash) {
  replace(state.nav, me.role === "team" ? teamNav() : adminNav(me, currentOrg(me, parts)));
  markNav(hash);
}

async function refreshOrgs() {
  try {
    const page = await get("/admin/orgs", { query: { limit: 500 } });
    const ids = page.items.map((o) => o.org_id);
    const changed = JSON.stringify(ids) !== JSON.stringify(state.orgs);
    state.orgs = ids;
    return changed;
  } catch {
    return false;
  }
}

function route() {
  if (!state.me) return;
  const hash = location.hash || "#/";
  if (!hash.startsWith("#/")) return;
  state.pageAbort?.abort();
  const abort = new AbortController();
  state.pageAbort = abort;
  const parts = parse(hash);
  const me = state.me;
  drawNav(me, parts, hash);
  if (me.auth_kind === "global_admin") {
    // the org list may have changed (an org created or deleted): redraw the picker when it has
    refreshOrgs().then((changed) => {
      if (changed && state.pageAbort === abort) drawNav(me, parts, hash);
    });
  }
  // Each page draws into a container of its own: a page still finishing after the next one
  // began (a slow fetch, an abort) writes into a detached element, never over its successor.
  const main = h("div", { class: "page" });
  replace(state.main, main);
  const ctx = {
    me,
    main,
    signal: abort.signal,
    navigate: (to) => {
      location.hash = to;
    },
    // an org created (the one the org pages open next) or deleted: redraw the navigation
    orgsChanged: async (opened) => {
      if (opened) sessionStorage.setItem(ORG_KEY, opened);
      await refreshOrgs();
      if (state.pageAbort === abort) drawNav(me, parts, hash);
    },
  };
  const page = pickPage(me, parts, ctx);
  Promise.resolve(page).catch((error) => {
    if (abort.signal.aborted) return;
    replace(main, h("h1", { text: "Something went wrong" }), errorBox(error));
  });
  if (document.activeElement === document.body || !document.activeElement) state.main.focus({ preventScroll: true });
}

const NODE_SECTIONS = new Set(["config", "history", "integrations", "runs", "locks"]);

function pickPage(me, parts, ctx) {
  if (me.role === "team") {
    const section = NODE_SECTIONS.has(parts[0]) && parts[0] !== "locks" ? parts[0] : "config";
    return renderNode(ctx, teamTarget(me), section);
  }
  if (parts[0] !== "orgs") return notFound(ctx);
  const [, org, what, node, section] = parts;
  if (!org) return renderOrgs(ctx);
  if (!what || what === "tree") return renderOrgTree(ctx, org);
  if (what === "tokens") return renderTokens(ctx, org);
  if (what === "audit") return renderAudit(ctx, org);
  if (what === "routing") return renderRouting(ctx, org);
  if (what === "nodes" && node) {
    return renderNode(ctx, adminTarget(org, node), NODE_SECTIONS.has(section) ? section : "config");
  }
  return notFound(ctx);
}

function notFound(ctx) {
  replace(
    ctx.main,
    h("h1", { text: "No such page" }),
    h("p", {}, "Go back to ", h("a", { href: home(ctx.me), text: "the start page" }), "."),
  );
}

window.addEventListener("hashchange", route);

async function boot() {
  if (!session.token) {
    signIn();
    return;
  }
  try {
    const me = await get("/auth/me");
    if (me.role === "internal") {
      signOut("The internal service token cannot use the console.");
      return;
    }
    startWith(me);
  } catch (error) {
    if (error.status === 401) {
      signOut("Your token is no longer accepted (expired or revoked). Sign in again.");
      return;
    }
    replace(
      root,
      h(
        "main",
        { class: "signin", id: "main" },
        h(
          "div",
          { class: "signin-card" },
          h("h1", { text: "The service cannot be reached" }),
          errorBox(error),
          h("button", { type: "button", class: "primary", text: "Retry", onclick: boot }),
        ),
      ),
    );
  }
}

boot();
