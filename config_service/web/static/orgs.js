// Orgs: the global admin sees and manages every org; an org admin sees its own.

import { del, enc, getAll, post } from "./api.js";
import { h, relativeTime, replace, shortTime } from "./dom.js";
import { busy, confirmDialog, errorBox, field, loading, messageSlot, table } from "./ui.js";

export async function renderOrgs(ctx) {
  const { main, me, signal } = ctx;
  document.title = "Orgs · Config Service";
  const global = me.auth_kind === "global_admin";
  const listBox = h("div", {}, loading());
  const slot = messageSlot();

  const load = async () => {
    try {
      const orgs = await getAll("/admin/orgs");
      if (signal.aborted) return;
      replace(
        listBox,
        table(
          [
            { label: "Org", cell: (o) => h("a", { href: `#/orgs/${enc(o.org_id)}/tree`, text: o.org_id }) },
            { label: "Name", cell: (o) => o.name },
            {
              label: "Created",
              cell: (o) => h("span", { title: shortTime(o.created_at), text: relativeTime(o.created_at) }),
            },
            ...(global ? [{ label: "", class: "row-actions", cell: (o) => deleteButton(o) }] : []),
          ],
          orgs,
          { empty: "No orgs yet: create the first one.", caption: "Orgs" },
        ),
      );
    } catch (error) {
      if (!signal.aborted) replace(listBox, errorBox(error));
    }
  };

  const deleteButton = (org) => {
    const button = h("button", { type: "button", class: "danger-outline small", text: "Delete" });
    button.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: `Delete org ${org.org_id}?`,
        body: [
          h(
            "p",
            {},
            "This deletes every node of the org with its config and history, revokes every token ",
            "and destroys the org's data key: its secrets cannot be recovered. Audit events stay.",
          ),
        ],
        confirmLabel: "Delete",
        danger: true,
        check: `Delete ${org.org_id} and all its teams (cascade)`,
      });
      if (!ok) return;
      await busy(
        button,
        async () => {
          await del(`/admin/orgs/${enc(org.org_id)}`, { query: { cascade: true } });
          slot.ok(`Org ${org.org_id} deleted.`);
          await Promise.all([load(), ctx.orgsChanged(null)]);
        },
        slot,
      );
    });
    return button;
  };

  let createCard = null;
  if (global) {
    const idInput = h("input", {
      type: "text",
      required: true,
      pattern: "[A-Za-z0-9][A-Za-z0-9_-]{0,63}",
      placeholder: "acme",
    });
    const nameInput = h("input", { type: "text", placeholder: "Acme Inc." });
    const createSlot = messageSlot();
    const create = h("button", { type: "submit", class: "primary", text: "Create org" });
    const form = h(
      "form",
      { class: "inline-form", novalidate: true },
      field("Org ID", idInput).wrap,
      field("Name", nameInput).wrap,
      create,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(
        create,
        async () => {
          const body = { org_id: idInput.value.trim() };
          if (nameInput.value.trim()) body.name = nameInput.value.trim();
          const org = await post("/admin/orgs", body);
          idInput.value = "";
          nameInput.value = "";
          createSlot.ok(`Org ${org.org_id} created.`);
          await Promise.all([load(), ctx.orgsChanged(org.org_id)]);
        },
        createSlot,
      );
    });
    createCard = h("div", { class: "card" }, h("h2", { class: "card-title", text: "New org" }), form, createSlot.el);
  }

  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "page-title" }, h("h1", { text: "Organizations" })),
      h("p", { class: "muted", text: global ? "Every org of this service." : "The org your token administers." }),
    ),
    createCard,
    slot.el,
    listBox,
  );
  await load();
}
