// Integration health for the node, and a form per integration generated from its catalog
// schema (field types, required, enum options). Secret fields are write-only: the form says
// whether one is set, never what it is; leaving a field empty leaves it as it is.

import { get, patch } from "./api.js";
import { h, jsonText, replace, uid } from "./dom.js";
import { badge, errorBox, errorText, loading, messageSlot } from "./ui.js";

const STATUS = {
  configured: ["configured", "ok"],
  incomplete: ["incomplete", "warn"],
  not_configured: ["not configured", "neutral"],
};
const MASK = "********";

function example(fieldDef) {
  return fieldDef.example === undefined || fieldDef.example === null ? "" : `e.g. ${fieldDef.example}`;
}

function inputFor(fieldDef, id) {
  const common = { id, name: fieldDef.name };
  switch (fieldDef.type) {
    case "boolean":
      return h(
        "select",
        common,
        h("option", { value: "", text: "(leave as is)" }),
        h("option", { value: "true", text: "true" }),
        h("option", { value: "false", text: "false" }),
      );
    case "enum":
      return h(
        "select",
        common,
        h("option", { value: "", text: "(leave as is)" }),
        (fieldDef.options || []).map((o) => h("option", { value: o, text: o })),
      );
    case "integer":
      return h("input", { ...common, type: "number", step: "1", inputmode: "numeric", placeholder: example(fieldDef) });
    case "number":
      return h("input", { ...common, type: "number", step: "any", placeholder: example(fieldDef) });
    case "string_list":
      return h("textarea", { ...common, rows: 3, placeholder: "one per line" });
    case "url":
      return h("input", { ...common, type: "url", placeholder: example(fieldDef) });
    case "email":
      return h("input", { ...common, type: "email", placeholder: example(fieldDef) });
    default:
      return h("input", {
        ...common,
        type: fieldDef.secret ? "password" : "text",
        autocomplete: "off",
        placeholder: fieldDef.secret ? "write-only: type a new value to replace it" : example(fieldDef),
      });
  }
}

/** The form value of a field, in the schema's type; undefined when left empty (unchanged). */
function valueOf(fieldDef, input) {
  const raw = input.value;
  if (raw === "" || (fieldDef.type === "string_list" && !raw.trim())) return undefined;
  switch (fieldDef.type) {
    case "boolean":
      return raw === "true";
    case "integer":
    case "number":
      return Number(raw);
    case "string_list":
      return raw
        .split("\n")
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

function integrationForm(schema, health, current, target, onSaved) {
  const slot = messageSlot();
  const rows = [];
  const inputs = new Map();
  const errors = new Map();
  for (const fieldDef of schema.fields) {
    const id = uid(`int-${schema.id}-${fieldDef.name}`);
    const input = inputFor(fieldDef, id);
    inputs.set(fieldDef.name, input);
    const value = current?.[fieldDef.name];
    const source = health?.sources?.[fieldDef.name];
    let state;
    if (fieldDef.secret) {
      state =
        value !== undefined && value !== null
          ? badge(source ? `set (by ${source})` : "set", "ok")
          : badge("not set", fieldDef.required ? "warn" : "neutral");
    } else if (value !== undefined && value !== null) {
      state = h(
        "span",
        { class: "current" },
        "now ",
        h("code", { text: jsonText(value) }),
        source ? h("span", { class: "muted", text: ` from ${source}` }) : null,
      );
    } else {
      state = h("span", { class: "muted", text: "not set" });
    }
    const error = h("div", { class: "field-error", role: "alert" });
    errors.set(`/integrations/${schema.id}/${fieldDef.name}`, error);
    rows.push(
      h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: id },
          fieldDef.display_name || fieldDef.name,
          fieldDef.required ? h("span", { class: "required", title: "required", text: " *" }) : null,
        ),
        input,
        h(
          "small",
          { class: "hint" },
          fieldDef.description || "",
          " ",
          state,
          fieldDef.secret ? h("span", { class: "muted", text: " · secret: write-only" }) : null,
        ),
        error,
      ),
    );
  }
  const save = h("button", { type: "submit", class: "primary", text: `Save ${schema.name}` });
  const form = h(
    "form",
    { class: "integration-form", novalidate: true },
    rows,
    slot.el,
    h("div", { class: "actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.forEach((el) => replace(el));
    slot.clear();
    const values = {};
    for (const fieldDef of schema.fields) {
      const value = valueOf(fieldDef, inputs.get(fieldDef.name));
      if (value === undefined || (fieldDef.secret && value === MASK)) continue;
      if ((fieldDef.type === "integer" || fieldDef.type === "number") && !Number.isFinite(value)) {
        replace(errors.get(`/integrations/${schema.id}/${fieldDef.name}`), `${fieldDef.name}: not a number`);
        return;
      }
      values[fieldDef.name] = value;
    }
    if (!Object.keys(values).length) {
      slot.error({ detail: "Nothing to save: fill in the fields to change (empty fields stay as they are)." });
      return;
    }
    save.disabled = true;
    try {
      const result = await patch(target.write, { config: { integrations: { [schema.id]: values } } });
      slot.ok(result.changed ? `Saved: own config is now version ${result.version}.` : "Saved: nothing changed.");
      inputs.forEach((input) => {
        input.value = "";
      });
      onSaved();
    } catch (error) {
      const near = error.path && errors.get(error.path);
      if (near) replace(near, errorText(error));
      else slot.error(error);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

export async function integrationsSection({ body, target, live, signal }) {
  replace(body, loading());
  const listBox = h("div", { class: "integrations" });
  const notice = h("div", {});
  const filter = h("input", {
    type: "search",
    placeholder: "Filter integrations…",
    "aria-label": "Filter integrations",
  });
  const summary = h("p", { class: "muted" });
  const openIds = new Set();
  let catalog;
  let health;

  const draw = () => {
    const effective = live.current.effective_config.integrations || {};
    const needle = filter.value.trim().toLowerCase();
    const rank = { configured: 0, incomplete: 1, not_configured: 2 };
    const items = catalog
      .filter((s) => !needle || `${s.id} ${s.name} ${s.category || ""}`.toLowerCase().includes(needle))
      .sort(
        (a, b) => (rank[health[a.id]?.status] ?? 3) - (rank[health[b.id]?.status] ?? 3) || a.name.localeCompare(b.name),
      );
    const counts = { configured: 0, incomplete: 0, not_configured: 0 };
    catalog.forEach((s) => {
      const status = health[s.id]?.status;
      if (status in counts) counts[status] += 1;
    });
    summary.textContent =
      `${counts.configured} configured · ${counts.incomplete} incomplete · ` +
      `${counts.not_configured} not configured`;
    replace(
      listBox,
      items.map((schema) => {
        const state = health[schema.id] || { status: "not_configured", missing_fields: [] };
        const [label, kind] = STATUS[state.status] || [state.status, "neutral"];
        const details = h(
          "details",
          { class: "integration", open: openIds.has(schema.id), dataset: { id: schema.id } },
          h(
            "summary",
            {},
            h("span", { class: "integration-name", text: schema.name }),
            schema.category ? h("span", { class: "muted small", text: schema.category }) : null,
            badge(label, kind),
            state.missing_fields?.length
              ? h("span", { class: "muted small", text: `missing: ${state.missing_fields.join(", ")}` })
              : null,
          ),
          schema.description ? h("p", { class: "muted", text: schema.description }) : null,
          target.canWrite
            ? integrationForm(schema, state, effective[schema.id], target, refresh)
            : h("p", { class: "muted", text: "This token cannot write (it lacks config:write)." }),
        );
        details.addEventListener("toggle", () => (details.open ? openIds.add(schema.id) : openIds.delete(schema.id)));
        return details;
      }),
    );
  };

  async function refresh() {
    try {
      const [schemas, view] = await Promise.all([
        catalog ? Promise.resolve({ items: catalog }) : get("/integrations/schemas", { signal }),
        get(target.health, { signal }),
      ]);
      catalog = schemas.items;
      health = view.integrations;
      replace(notice);
      draw();
    } catch (error) {
      if (!signal.aborted) replace(listBox, errorBox(error));
    }
  }

  // A change made elsewhere redraws the list, but never under a form someone is filling in.
  const typing = () => [...listBox.querySelectorAll("input, select, textarea")].some((el) => el.value !== "");
  live.on(() => {
    if (!typing()) {
      refresh();
      return;
    }
    replace(
      notice,
      h(
        "div",
        { class: "notice", role: "status" },
        "The config changed elsewhere. ",
        h("button", {
          type: "button",
          class: "secondary small",
          text: "Refresh",
          onclick: () => {
            replace(notice);
            refresh();
          },
        }),
      ),
    );
  });

  filter.addEventListener("input", () => catalog && draw());
  replace(body, h("div", { class: "toolbar" }, h("div", { class: "toolbar-left" }, filter), summary), notice, listBox);
  await refresh();
}
