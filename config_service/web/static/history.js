// History of a node's own config: each version with its diff, its content on demand, a compare
// of any two versions, and a rollback (confirmed, with a preview of what it changes).
// One "Rollback" button at a time: it belongs to the chosen version (by default the one before the
// current), so the control DESIGN §12.1 names is one control; choosing another version (its
// version number is a toggle button) moves the button there.

import { get, post, request } from "./api.js";
import { h, relativeTime, replace, shortTime } from "./dom.js";
import { badge, busy, confirmDialog, diffView, errorBox, field, loading, messageSlot } from "./ui.js";

/** A token actor's tail ("<token id>" or "<token id> (<description>)") as "token 1a2b3c4d: <description>". */
function tokenText(rest) {
  const described = /^([^ ]+) \((.*)\)$/s.exec(rest);
  if (described) return `token ${described[1].slice(0, 8)}: ${described[2]}`;
  return `token ${rest.slice(0, 8)}`;
}

/** An audit actor ("team:acme/sre:<token id> (<description>)") as something a person reads. */
export function actorText(actor) {
  if (!actor) return "—";
  const team = /^team:([^/]+)\/([^:]+):(.*)$/s.exec(actor);
  if (team) return `team ${team[2]} (${tokenText(team[3])})`;
  const orgAdmin = /^org-admin:([^:]+):(.*)$/s.exec(actor);
  if (orgAdmin) return `org admin of ${orgAdmin[1]} (${tokenText(orgAdmin[2])})`;
  return actor;
}

export async function historySection({ body, target, live, signal }) {
  const list = h("ol", { class: "versions", "aria-label": "Versions" });
  const slot = messageSlot();
  const more = h("button", { type: "button", class: "secondary", text: "Load older versions", hidden: true });
  const compareBox = h("div", { class: "compare-result" });
  let cursor = null;
  let current = live.current.version;
  let chosen = null; // the version the Rollback button acts on
  const rollbackButtons = new Map(); // version → { row, pick, button }

  const choose = (version) => {
    chosen = version;
    for (const [v, { row, pick, button }] of rollbackButtons) {
      button.hidden = v !== version;
      row.classList.toggle("chosen", v === version);
      pick.setAttribute("aria-pressed", String(v === version));
    }
  };

  const rollback = async (item, button) => {
    const reasonInput = h("input", { type: "text", maxlength: 2000, placeholder: "Why roll back?" });
    const reason = field("Reason (optional)", reasonInput);
    const previewBox = h("div", {}, loading("Computing what the rollback changes…"));
    const pending = confirmDialog({
      title: `Rollback to version ${item.version}?`,
      body: [
        h(
          "p",
          {},
          `The own config of ${target.node} becomes version ${item.version}'s content, saved as a new version. `,
          "Secrets keep their current values.",
        ),
        previewBox,
        reason.wrap,
      ],
      confirmLabel: "Rollback",
      danger: true,
    });
    request("POST", target.preview, { body: { rollback_to: item.version }, signal })
      .then(({ data }) => {
        const self = data.affected.find((a) => a.node_id === target.node);
        const others = data.affected.length - (self ? 1 : 0);
        replace(
          previewBox,
          data.errors.length
            ? h(
                "div",
                { class: "error", role: "alert" },
                data.errors.map((e) => h("p", { text: `${e.code}: ${e.detail}${e.path ? ` (${e.path})` : ""}` })),
              )
            : null,
          h("h3", { text: `Effective config of ${target.node}` }),
          diffView(self?.diff, { empty: "The effective config does not change." }),
          others
            ? h("p", {
                class: "muted",
                text: others === 1 ? "1 other node below changes too." : `${others} other nodes below change too.`,
              })
            : null,
        );
      })
      .catch((error) => replace(previewBox, errorBox(error)));
    if (!(await pending)) return;
    await busy(
      button,
      async () => {
        const payload = { version: item.version };
        if (reasonInput.value.trim()) payload.reason = reasonInput.value.trim();
        const { data } = await request("POST", target.rollback, {
          body: payload,
          headers: { "If-Match": target.ifMatch(current) },
          signal,
        });
        slot.ok(
          data.changed
            ? `Rolled back to version ${item.version}: the own config is now version ${data.version}.`
            : `Version ${item.version} has the same content as the current one: nothing changed.`,
        );
        await reloadList();
      },
      slot,
    );
  };

  const versionRow = (item) => {
    const isCurrent = item.version === current;
    const contentBox = h("div", { class: "version-content" });
    const show = h("button", { type: "button", class: "ghost small", text: "Show content", "aria-expanded": "false" });
    show.addEventListener("click", async () => {
      if (show.getAttribute("aria-expanded") === "true") {
        replace(contentBox);
        show.setAttribute("aria-expanded", "false");
        show.textContent = "Show content";
        return;
      }
      replace(contentBox, loading());
      try {
        const full = await get(target.version(item.version), { signal });
        replace(contentBox, h("pre", { class: "code-block", text: JSON.stringify(full.config, null, 2) }));
        show.setAttribute("aria-expanded", "true");
        show.textContent = "Hide content";
      } catch (error) {
        replace(contentBox, errorBox(error));
      }
    });
    const actions = [show];
    let number = h("span", { class: "version-number", text: `v${item.version}` });
    let rollbackButton = null;
    let pick = null;
    if (!isCurrent && target.canWrite) {
      rollbackButton = h("button", {
        type: "button",
        class: "secondary small",
        text: "Rollback",
        title: `Roll back to version ${item.version}`,
        hidden: true,
      });
      rollbackButton.addEventListener("click", () => rollback(item, rollbackButton));
      actions.unshift(rollbackButton);
      pick = h("button", {
        type: "button",
        class: "ghost small version-number",
        text: `v${item.version}`,
        title: `Choose version ${item.version} to roll back to`,
        "aria-pressed": "false",
      });
      pick.addEventListener("click", () => choose(item.version));
      number = pick;
    }
    const row = h(
      "li",
      { class: "version", dataset: { version: item.version } },
      h(
        "div",
        { class: "version-head" },
        number,
        isCurrent ? badge("current", "own") : null,
        h("span", { class: "muted", title: shortTime(item.changed_at), text: relativeTime(item.changed_at) }),
        h("span", { class: "actor", title: item.changed_by || "", text: actorText(item.changed_by) }),
        item.reason ? h("span", { class: "reason", text: `“${item.reason}”` }) : null,
        h("span", { class: "version-actions" }, actions),
      ),
      diffView(item.diff, { empty: item.version === 1 ? "Created (empty own config)." : "No content change." }),
      contentBox,
    );
    if (rollbackButton) {
      rollbackButtons.set(item.version, { row, pick, button: rollbackButton });
      if (chosen === null) chosen = item.version; // the newest earlier version
      if (chosen === item.version) choose(item.version);
    }
    return row;
  };

  let sequence = 0;
  const loadPage = async () => {
    const mine = sequence;
    const page = await get(target.history, { query: { limit: 20, cursor }, signal });
    if (mine !== sequence) return; // a reload started meanwhile: its answer wins
    page.items.forEach((item) => list.append(versionRow(item)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };

  const reloadList = async () => {
    const mine = ++sequence;
    current = live.current.version;
    try {
      const page = await get(target.history, { query: { limit: 20 }, signal });
      if (mine !== sequence) return;
      rollbackButtons.clear();
      chosen = null; // a new version came: the choice starts again at the one before the current
      replace(list, page.items.map(versionRow));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      if (!signal.aborted && mine === sequence) replace(list, h("li", {}, errorBox(error)));
    }
  };

  more.addEventListener("click", () => busy(more, loadPage, slot));

  const fromInput = h("input", { type: "number", min: 1, inputmode: "numeric", class: "narrow" });
  const toInput = h("input", { type: "number", min: 1, inputmode: "numeric", class: "narrow", placeholder: "current" });
  const compareForm = h(
    "form",
    { class: "inline-form" },
    field("From version", fromInput).wrap,
    field("To version", toInput).wrap,
    h("button", { type: "submit", class: "secondary", text: "Compare" }),
  );
  compareForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(compareBox, loading());
    try {
      const diff = await get(target.diff, { query: { from: fromInput.value, to: toInput.value }, signal });
      replace(
        compareBox,
        h("p", { class: "muted", text: `From version ${diff.from_version} to ${diff.to_version}:` }),
        diffView(diff.diff, { empty: "The two versions have the same content." }),
      );
    } catch (error) {
      replace(compareBox, errorBox(error));
    }
  });

  replace(
    body,
    slot.el,
    h(
      "div",
      { class: "card" },
      h("h2", { class: "card-title", text: "Compare two versions" }),
      compareForm,
      compareBox,
    ),
    list,
    more,
  );
  live.on(() => reloadList());
  await reloadList();
}
