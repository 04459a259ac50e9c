// hoard admin page: renders /api/state (embedded in the page at load, then
// polled every 2 s). Every string from the server goes in as text, never
// as markup: definition names and refusal reasons come from plugins.
"use strict";

const POLL_MS = 2000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function percent(r) { return r === null || r === undefined ? "–" : (r * 100).toFixed(1) + "%"; }
function ms(v) { return v === null || v === undefined ? "–" : (v < 1 ? v.toFixed(3) : v.toFixed(1)) + " ms"; }

// Per-interval hit ratio and request rate from cumulative samples.
function series(history) {
  const ratio = [], rate = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1], b = history[i];
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    const dh = b.hits - a.hits, dm = b.misses - a.misses, ds = b.sets - a.sets;
    rate.push({ t: b.t, v: (dh + dm + ds) / dt });
    if (dh + dm > 0) ratio.push({ t: b.t, v: dh / (dh + dm) });
  }
  return { ratio, rate };
}

function chart(points, title, yMax, format) {
  const W = 360, H = 120, L = 44, B = 18;
  const box = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  const max = yMax || Math.max(1, ...points.map(p => p.v));
  for (const f of [0, 0.5, 1]) {
    const y = (H - B) - f * (H - B - 6);
    box.append(svg("line", { x1: L, x2: W, y1: y, y2: y, class: "grid" }));
    const label = svg("text", { x: 2, y: y + 3 });
    label.textContent = format(max * f);
    box.append(label);
  }
  if (points.length > 0) {
    const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
    const xy = points.map(p => {
      const x = L + (p.t - t0) / (t1 - t0) * (W - L - 4);
      const y = (H - B) - Math.min(p.v / max, 1) * (H - B - 6);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    if (xy.length === 1) xy.push(xy[0].replace(/^[^,]+/, String(W - 4)));
    box.append(svg("polyline", { points: xy.join(" "), class: "line" }));
    const span = svg("text", { x: L, y: H - 4 });
    span.textContent = `last ${Math.round((t1 - t0) / 60000) || "<1"} min`;
    box.append(span);
  }
  const last = points.length ? format(points[points.length - 1].v) : "no traffic yet";
  return el("figure", { class: "chart" }, box, el("figcaption", {}, `${title}: ${last}`));
}

function quota(used, max, fmt) {
  if (!max) return el("span", {}, fmt(used), " (no quota)");
  const pct = Math.min(100, used / max * 100);
  const bar = el("span", { class: "bar" }, el("span", { style: `width:${pct.toFixed(1)}%` }));
  return el("span", {}, `${fmt(used)} of ${fmt(max)}`, bar);
}

// Where reads were answered (L2-backed definitions) and what the origin did.
function tiers(d) {
  const parts = [];
  if (d.levels) {
    const l = d.levels;
    parts.push(el("div", { class: "levels" },
      `L1 ${l.l1} · L2 ${l.l2} · miss ${l.none} · stale ${l.stale}` +
      (l.partial_writes ? ` · ${l.partial_writes} partial write(s)` : "")));
  }
  if (d.origin) {
    const c = Object.fromEntries(d.origin.counters);
    parts.push(el("div", { class: "origin" },
      `${d.origin.kind} origin ${d.origin.name}: ${c.loads} loads, ${c.coalesced} coalesced, ` +
      `${c.stale_served} stale, ${c.errors} errors, ${(c.latency_mean_us / 1000).toFixed(1)} ms`));
  }
  return parts.length ? parts : "–";
}

function definitionsTable(defs) {
  if (!defs.length) return el("p", { class: "empty" }, "No definitions loaded.");
  const head = el("tr", {}, ...["Definition", "Version", "Plugin", "Items", "Memory", "Hit ratio",
    "p99 generate-key", "p99 validate", "p99 on-event", "Calls", "Faults", "Health", "Tiers and origin"].map(h => el("th", {}, h)));
  const rows = defs.map(d => {
    const p99 = name => { const e = d.exports.find(x => x.export === name); return e ? ms(e.p99_ms) : "–"; };
    const health = d.quarantined
      ? el("span", { class: "bad" }, `quarantined (${(d.quarantine_left_ms / 1000).toFixed(1)} s left)`)
      : el("span", { class: "ok" }, "serving");
    return el("tr", { "data-definition": d.name },
      el("td", {}, el("b", {}, d.name), el("br"), el("small", {}, d.id)),
      el("td", {}, d.version),
      el("td", {}, `${d.language}, ${bytes(d.plugin_bytes)}`),
      el("td", { class: "num" }, d.items),
      el("td", { class: "num" }, bytes(d.bytes)),
      el("td", { class: "num hit-ratio" }, percent(d.hit_ratio)),
      el("td", { class: "num" }, p99("generate-key")),
      el("td", { class: "num" }, p99("validate")),
      el("td", { class: "num" }, p99("on-event")),
      el("td", { class: "num" }, d.calls),
      el("td", { class: "num" }, d.faults),
      el("td", { class: "health" }, health, d.quarantines ? el("small", {}, ` · ${d.quarantines} quarantine(s)`) : null),
      el("td", { class: "tiers" }, tiers(d)));
  });
  return el("table", { class: "definitions" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function reloadsList(reloads) {
  if (!reloads.length) return el("p", { class: "empty" }, "No reloads yet.");
  return el("table", { class: "reloads" },
    el("thead", {}, el("tr", {}, el("th", {}, "When"), el("th", {}, "File"), el("th", {}, "Outcome"), el("th", {}, "Detail"))),
    el("tbody", {}, ...reloads.map(r => el("tr", { class: r.outcome },
      el("td", {}, new Date(r.at_unix_ms).toLocaleTimeString()),
      el("td", {}, r.source.split("/").pop()),
      el("td", { class: r.outcome === "refused" ? "refused" : "ok" }, r.outcome),
      el("td", { class: "detail" }, r.detail)))));
}

function render(state) {
  document.getElementById("viewer").textContent =
    `signed in as ${state.viewer} · up ${Math.floor(state.uptime_s / 60)} min ${state.uptime_s % 60} s`;
  const main = document.getElementById("tenants");
  const node = document.getElementById("node");
  if (node) {
    const n = state.node;
    node.textContent = n
      ? `L2: breaker ${n.breaker}, ${n.l2_latency_mean_ms.toFixed(2)} ms mean, ${n.l2_failures} failures, ` +
        `${n.replay_depth} queued · bus ${n.bus_link ? "up" : "DOWN"}, lag ${n.bus_lag_ms.toFixed(1)} ms`
      : "";
  }
  const sections = state.tenants.map(t => {
    const { ratio, rate } = series(t.history);
    return el("section", { class: "tenant", "data-tenant": t.name },
      el("h2", {}, t.name ? `Tenant ${t.name}` : "Definitions"),
      el("div", { class: "facts" },
        el("span", {}, "Items: ", el("b", {}, quota(t.items, t.max_items, String))),
        el("span", {}, "Memory: ", el("b", {}, quota(t.bytes, t.max_bytes, bytes))),
        el("span", {}, "Connections: ", el("b", {}, t.connections)),
        el("span", {}, "Reloads: ", el("b", {}, `${t.reloads_installed} installed, ${t.reloads_refused} refused`))),
      el("div", { class: "charts" },
        chart(ratio, "Hit ratio", 1, v => (v * 100).toFixed(0) + "%"),
        chart(rate, "Requests per second", 0, v => v >= 100 ? v.toFixed(0) : v.toFixed(1))),
      definitionsTable(t.definitions),
      el("h3", {}, "Recent reloads"),
      reloadsList(t.reloads));
  });
  main.replaceChildren(...sections);
}

function setStatus(text, offline) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = offline ? "status offline" : "status";
}

async function poll() {
  try {
    // From the origin, not the page's URL: a page opened as
    // http://user:pass@host/ would otherwise hand fetch() a URL with
    // credentials, which it refuses. The browser resends the Basic
    // credential it already holds for this origin.
    const url = new URL("/api/state", window.location.origin);
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    setStatus(`updated ${new Date().toLocaleTimeString()}`, false);
  } catch (error) {
    setStatus(`offline (${error.message})`, true);
  }
  setTimeout(poll, POLL_MS);
}

const initial = JSON.parse(document.getElementById("state").textContent);
if (initial) {
  render(initial);
  setStatus("live", false);
}
setTimeout(poll, POLL_MS);
