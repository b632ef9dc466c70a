// Agent runs of the node: counts and durations (computed by the service), and the latest runs.

import { get } from "./api.js";
import { h, relativeTime, replace, shortTime } from "./dom.js";
import { badge, errorBox, loading, short, table } from "./ui.js";

const STATUS_KIND = { success: "ok", error: "danger", timeout: "warn", running: "info" };

function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 120) return `${value.toFixed(1)} s`;
  return `${(value / 60).toFixed(1)} min`;
}

function stat(label, value, kind) {
  return h(
    "div",
    { class: ["stat", kind ? `stat-${kind}` : null] },
    h("span", { class: "stat-value", text: String(value) }),
    h("span", { class: "stat-label", text: label }),
  );
}

export async function runsSection({ body, target, signal }) {
  replace(body, loading());
  const PAGE = 25;
  let offset = 0;
  const listBox = h("div", {});
  const pager = h("div", { class: "pager" });

  const loadRuns = async () => {
    replace(listBox, loading());
    try {
      const page = await get(target.runs.path, { query: { ...target.runs.query, limit: PAGE, offset }, signal });
      replace(
        listBox,
        table(
          [
            { label: "Agent", cell: (r) => h("strong", { text: r.agent_name }) },
            { label: "Status", cell: (r) => badge(r.status, STATUS_KIND[r.status] || "neutral") },
            {
              label: "Started",
              cell: (r) => h("span", { title: shortTime(r.created_at), text: relativeTime(r.created_at) }),
            },
            { label: "Duration", cell: (r) => seconds(r.duration_seconds) },
            {
              label: "Config etag",
              cell: (r) => h("code", { title: r.config_version || "", text: short(r.config_version, 10) }),
            },
            { label: "Trigger", cell: (r) => r.trigger_source || "—" },
            { label: "Run", cell: (r) => h("code", { title: r.id, text: short(r.id, 8) }) },
          ],
          page.runs,
          { empty: "No agent runs recorded yet.", caption: "Agent runs" },
        ),
      );
      const prev = h("button", { type: "button", class: "secondary small", text: "Newer", disabled: offset === 0 });
      const next = h("button", {
        type: "button",
        class: "secondary small",
        text: "Older",
        disabled: offset + PAGE >= page.total,
      });
      prev.addEventListener("click", () => {
        offset = Math.max(0, offset - PAGE);
        loadRuns();
      });
      next.addEventListener("click", () => {
        offset += PAGE;
        loadRuns();
      });
      replace(
        pager,
        h("span", {
          class: "muted",
          text: page.total ? `${offset + 1}–${Math.min(offset + PAGE, page.total)} of ${page.total}` : "",
        }),
        prev,
        next,
      );
    } catch (error) {
      if (!signal.aborted) replace(listBox, errorBox(error));
    }
  };

  let statsBox;
  try {
    const stats = await get(target.stats.path, { query: target.stats.query, signal });
    const total = Object.values(stats.by_status).reduce((a, b) => a + b, 0);
    statsBox = h(
      "div",
      {},
      h(
        "div",
        { class: "stats" },
        stat("runs", total),
        stat("success", stats.by_status.success || 0, "ok"),
        stat("error", stats.by_status.error || 0, "danger"),
        stat("timeout", stats.by_status.timeout || 0, "warn"),
        stat("running", stats.by_status.running || 0, "info"),
        stat("p50 duration", seconds(stats.duration.p50)),
        stat("p95 duration", seconds(stats.duration.p95)),
      ),
      Object.keys(stats.agents).length
        ? table(
            [
              { label: "Agent", cell: ([name]) => h("strong", { text: name }) },
              { label: "Runs", cell: ([, a]) => String(Object.values(a.by_status).reduce((x, y) => x + y, 0)) },
              { label: "Success", cell: ([, a]) => String(a.by_status.success || 0) },
              { label: "Error", cell: ([, a]) => String(a.by_status.error || 0) },
              { label: "Timeout", cell: ([, a]) => String(a.by_status.timeout || 0) },
              { label: "p50", cell: ([, a]) => seconds(a.duration.p50) },
              { label: "p95", cell: ([, a]) => seconds(a.duration.p95) },
            ],
            Object.entries(stats.agents),
            { caption: "Runs per agent" },
          )
        : null,
    );
  } catch (error) {
    if (signal.aborted) return;
    statsBox = errorBox(error);
  }
  replace(
    body,
    h("div", { class: "card" }, h("h2", { class: "card-title", text: "Run statistics" }), statsBox),
    h("div", { class: "card" }, h("h2", { class: "card-title", text: "Latest runs" }), listBox, pager),
  );
  await loadRuns();
}
