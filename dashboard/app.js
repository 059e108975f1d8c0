/*
 * tocsin dashboard.  Everything comes from the API (docs/api.md) and is
 * refreshed every REFRESH_MS.  Text from the API is put in the page with
 * textContent only, never as HTML.  An endpoint that answers 404 or 501
 * (its module is not in this tocsind) leaves its part with a note, the
 * rest keeps working.  The token, pasted once, stays in localStorage and
 * goes with every request, so the page also works where reads need it.
 *
 * One page, six views chosen by the URL's hash: #/ (overview), #/checks
 * (every check, filtered by state, group, type and text), #/check/NAME
 * (its details, metrics on an interactive chart, its incidents),
 * #/incident/ID (timeline, checks, pages sent, ack/resolve/comment),
 * #/problems (problem records) and #/changes (change events, those made
 * in a change freeze marked).
 * Charts are dygraphs (Debian's libjs-dygraphs, embedded into tocsind at
 * build time) drawn from GET /api/v1/series.
 */
"use strict";

const REFRESH_MS = 5000;
const GRAPH_REFRESH_MS = 60000;
const CHART_REFRESH_MS = 15000;     // the charts: one rrd_fetch each
const PROBLEMS = "WARNING,CRITICAL,UNKNOWN,UNREACHABLE";
const STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN", "UNREACHABLE",
  "PENDING"];
const $ = (id) => document.getElementById(id);

let lastGraphs = 0;
let lastCharts = 0;

function token() {
  return localStorage.getItem("tocsin.token") || "";
}

async function api(path, opts) {
  opts = opts || {};
  const headers = { "Accept": "application/json" };
  if (token()) headers["Authorization"] = "Bearer " + token();
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method: opts.method || "GET", headers: headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: "no-store" });
  } catch (e) {
    return { status: 0, body: { error: "tocsind does not answer" } };
  }
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  return { status: r.status, body: body };
}

function say(text, isError) {
  const m = $("message");
  m.textContent = text || "";
  m.hidden = !text;
  m.className = isError ? "error" : "";
}

function absent(st) {
  return st === 404 || st === 501;
}

function age(iso) {
  if (!iso) return "";
  let s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
  const out = [];
  for (const [u, n] of units) {
    if (s >= n || (u === "s" && out.length === 0)) {
      out.push(Math.floor(s / n) + u);
      s %= n;
    }
    if (out.length === 2) break;
  }
  return out.join(" ");
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function button(td, label, onclick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onclick);
  td.appendChild(b);
  return b;
}

function setRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

async function act(path, what, body) {
  if (!token()) {
    say("Paste the API token (top right) to " + what + ".", true);
    return false;
  }
  const r = await api(path, { method: "POST", body: Object.assign(
    { by: "dashboard" }, body || {}) });
  const ok = r.status >= 200 && r.status < 300;
  if (ok) say("Done: " + what + ".");
  else say(what + " failed: HTTP " + r.status + ": " +
           ((r.body && r.body.error) || "no answer"), true);
  refresh();
  return ok;
}

async function loadStatus() {
  const r = await api("/api/v1/status");
  if (r.status !== 200) {
    say(r.status === 401 ? "This tocsind needs the API token for reads: " +
        "paste it top right." : "GET /api/v1/status: " +
        ((r.body && r.body.error) || "HTTP " + r.status), true);
    return false;
  }
  const st = r.body;
  for (const s of STATES) {
    // a count this tocsind does not give (an older one) stays a dash
    if (st.checks[s] !== undefined) $("count-" + s).textContent = st.checks[s];
  }
  $("count-incidents").textContent = st.open_incidents;
  $("version").textContent = "tocsind " + st.version;
  return true;
}

/* ---- the SLO tiles of the overview ---- */

function pct(v) {
  return typeof v === "number" ? v.toFixed(3) + " %" : "–";
}

function sloTile(s) {
  const a = document.createElement("a");
  a.className = "slo";
  a.dataset.slo = s.name;
  a.dataset.status = s.status;
  a.href = "#/check/" + encodeURIComponent(s.name);
  const add = (tag, text, cls) => {
    const e = document.createElement(tag);
    e.textContent = text;
    if (cls) e.className = cls;
    a.append(e);
    return e;
  };
  add("span", s.name, "name");
  add("b", pct(s.availability), "availability");
  add("div", "objective " + s.objective + " % over " + s.window, "muted");
  add("div", "error budget left " + pct(s.error_budget_remaining),
      "budget");
  const burns = Object.entries(s.burn_rates || {})
    .map(([w, v]) => w + " " + (typeof v === "number" ? v.toFixed(2) : "–") +
      "×").join(" · ");
  add("div", "burn " + burns, "burn muted");
  add("span", s.status === "ok" ? "within budget" : s.status, "status");
  return a;
}

async function loadSlos() {
  const r = await api("/api/v1/slos");
  const sec = $("slo-section");
  if (r.status !== 200 || !r.body.slos || r.body.slos.length === 0) {
    sec.hidden = true;
    return;
  }
  sec.hidden = false;
  $("slos").replaceChildren(...r.body.slos.map(sloTile));
}

async function loadIncidents() {
  const r = await api("/api/v1/incidents");
  const note = $("incidents-note");
  const tbody = document.querySelector("#incidents tbody");
  if (r.status !== 200) {
    note.textContent = absent(r.status) ?
      "The incident log is not part of this tocsind." :
      "Incidents: " + ((r.body && r.body.error) || "HTTP " + r.status);
    note.hidden = false;
    $("incidents").hidden = true;
    setRows(tbody, []);
    return;
  }
  const list = r.body.incidents || [];
  note.textContent = "No open incidents.";
  note.hidden = list.length > 0;
  $("incidents").hidden = list.length === 0;
  setRows(tbody, list.map((inc) => {
    const tr = document.createElement("tr");
    tr.dataset.id = inc.id;
    link(cell(tr, ""), "#/incident/" + inc.id, String(inc.id));
    cell(tr, inc.priority, "prio " + inc.priority);
    cell(tr, inc.title);
    cell(tr, inc.root_cause);
    cell(tr, inc.status + (inc.acknowledged_by ? " by " +
         inc.acknowledged_by : ""), "status");
    cell(tr, age(inc.opened_at));
    const td = cell(tr, "");
    if (inc.status === "open")
      button(td, "Acknowledge", () => act("/api/v1/incidents/" + inc.id +
             "/ack", "acknowledge incident " + inc.id)).className = "ack";
    if (inc.status === "open" || inc.status === "acknowledged")
      button(td, "Resolve", () => act("/api/v1/incidents/" + inc.id +
             "/resolve", "resolve incident " + inc.id)).className =
             "resolve";
    return tr;
  }));
}

async function loadProblems() {
  const r = await api("/api/v1/checks?state=" + PROBLEMS);
  if (r.status !== 200) return;
  const list = r.body.checks || [];
  const order = { CRITICAL: 0, UNKNOWN: 1, WARNING: 2, UNREACHABLE: 3 };
  list.sort((a, b) => order[a.state] - order[b.state] ||
            a.name.localeCompare(b.name));
  $("problems-none").hidden = list.length > 0;
  $("problems").hidden = list.length === 0;
  setRows(document.querySelector("#problems tbody"), list.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.check = c.name;
    link(cell(tr, ""), "#/check/" + encodeURIComponent(c.name), c.name);
    cell(tr, c.state + (c.state_type === "soft" ? " (soft)" : ""),
         "state " + c.state);
    cell(tr, age(c.last_state_change));
    cell(tr, c.attempt + "/" + c.max_attempts);
    cell(tr, c.summary, "summary");
    const td = cell(tr, "");
    button(td, "Run now", () => act("/api/v1/checks/" +
           encodeURIComponent(c.name) + "/run", "run " + c.name));
    return tr;
  }));
}

/*
 * Charts.  A chart draws series — {check, metric} pairs, of one check or
 * several — over a range: "" fits the data (the last day, zoomed to where
 * the values start when they are younger, as the PNG graphs do), else a
 * duration back from now.  One GET /api/v1/series per check (its metrics
 * in one request); checks with other steps are merged on the union of
 * their times (fetchSeries says how).  Units go on two axes at most (the first unit left, the
 * second right); a series of a third unit is left out, and the chart
 * says so.
 */
const RANGES = [["", "Fit the data"], ["1h", "1 hour"], ["6h", "6 hours"],
  ["1d", "1 day"], ["1w", "1 week"], ["30d", "30 days"], ["365d", "1 year"]];
const charts = {};          // by box id: {g, series, range}
window.tocsinCharts = {};   // by box id: the Dygraph (tests read it)

// value in a metric's unit → [number, unit] in a base unit people read
function baseUnit(v, unit) {
  const u = unit || "";
  const per = u.endsWith("/s") ? "/s" : "";
  const b = per ? u.slice(0, -2) : u;
  const scale = { ms: [1e-3, "s"], us: [1e-6, "s"], KB: [1e3, "B"],
    MB: [1e6, "B"], GB: [1e9, "B"], TB: [1e12, "B"] }[b];
  return scale ? [v * scale[0], scale[1] + per] : [v, b === "c" ? per :
    b + per];
}

/*
 * A number for people: 0.00004 s as "40 µs", 1.5e9 B as "1.5 GB".  ref
 * (in the base unit): the prefix is chosen for it rather than for v, so
 * that an axis' ticks share one ("0 ms", "10 ms", not "0 s", "10 ms").
 */
function human(v, unit, ref) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const [x, u] = baseUnit(v, unit);
  if (u === "%") return round3(x) + " %";
  if (x === 0 && ref === undefined) return "0" + (unit ? " " + unit : "");
  const a = Math.abs(ref === undefined ? x : ref);
  const pre = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""],
    [1e-3, "m"], [1e-6, "µ"], [1e-9, "n"]];
  if (a === 0 || (u === "" && a >= 1e-3 && a < 1e6))
    return round3(x) + (u ? " " + u : "");
  for (const [n, p] of pre)
    if (a >= n) return round3(x / n) + " " + p + u;
  if (ref !== undefined) return round3(x / 1e-9) + " n" + u;
  return x.toExponential(2) + (u ? " " + u : "");
}

function escapeHTML(t) {
  return String(t).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}

function round3(x) {
  return String(Number(x.toPrecision(3)));
}

function rangeButtons(box, onpick) {
  box.replaceChildren(...RANGES.map(([v, label]) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.range = v;
    b.className = v === (box.dataset.range || "") ? "on" : "";
    b.addEventListener("click", () => {
      box.dataset.range = v;
      for (const o of box.children) o.className =
        o.dataset.range === v ? "on" : "";
      onpick(v);
    });
    return b;
  }));
}

async function fetchSeries(series, range) {
  const byCheck = new Map();
  for (const s of series) {
    if (!byCheck.has(s.check)) byCheck.set(s.check, []);
    byCheck.get(s.check).push(s);
  }
  const since = range || "1d";
  const parts = await Promise.all([...byCheck].map(async ([check, list]) => {
    const r = await api("/api/v1/series/" + encodeURIComponent(check) + "/" +
      list.map((s) => encodeURIComponent(s.metric)).join(",") +
      "?since=" + encodeURIComponent(since));
    return { check: check, list: list, r: r };
  }));
  /*
   * Checks of different steps: each series' value at a time t is that of
   * its own row covering t (the row ending at the next multiple of its
   * step), so a 2 s check beside a 1 s one is a line, and a null is
   * still a gap (no value, or a failed run), never bridged.
   */
  const labels = ["time"];
  const units = [];
  const errors = [];
  const got = [];
  const times = new Set();
  let col = 0;
  for (const p of parts) {
    if (p.r.status !== 200) {
      errors.push(p.check + ": " + ((p.r.body && p.r.body.error) ||
        "HTTP " + p.r.status));
      continue;
    }
    const b = p.r.body;
    const n = b.metrics.length;
    for (const m of b.metrics) {
      labels.push(byCheck.size > 1 || series.length !== p.list.length ?
        p.check + " " + m.name : m.name);
      units.push(m.unit);
    }
    const byTime = new Map();
    for (const pt of b.points) {
      byTime.set(pt[0], pt);
      times.add(pt[0]);
    }
    got.push({ col: col, n: n, step: Math.max(1, b.step), byTime: byTime });
    col += n;
  }
  const data = [...times].sort((a, b) => a - b).map((t) => {
    const out = [new Date(t * 1000)];
    for (const g of got) {
      const pt = g.byTime.get(t) ||
        g.byTime.get(Math.ceil(t / g.step) * g.step);
      for (let k = 0; k < g.n; k++) {
        const v = pt ? pt[k + 1] : null;
        out.push(v === null || v === undefined ? null :
          baseUnit(v, units[g.col + k])[0]);
      }
    }
    return out;
  });
  return { labels: labels, units: units.map((u) => baseUnit(1, u)[1]),
    data: data, errors: errors,
    step: Math.max(1, ...got.map((g) => g.step)) };
}

// [first, last] time with a value, in ms, or null
function dataSpan(data) {
  let first = null, last = null;
  for (const row of data)
    if (row.slice(1).some((v) => v !== null)) {
      if (first === null) first = row[0].getTime();
      last = row[0].getTime();
    }
  return first === null ? null : [first, last];
}

/*
 * Draws (or redraws, keeping the user's zoom) the chart in box.  lines:
 * thresholds [{v, unit, crit}] drawn when the chart has one unit.
 */
async function drawChart(boxId, series, range, lines) {
  const box = $(boxId);
  let f = await fetchSeries(series, range);
  if (!range) {
    // a day of a young check is its 5-minute archive, maybe empty yet:
    // values younger than 2 hours are read again at their own step
    const s = dataSpan(f.data);
    if (s === null || Date.now() - s[0] < 7200e3) {
      const g = await fetchSeries(series, "2h");
      if (dataSpan(g.data) !== null || s === null) f = g;
    }
  }
  let c = charts[boxId];
  let note = box.querySelector(".chart-note");
  if (!note) {
    note = document.createElement("p");
    note.className = "chart-note muted";
    box.appendChild(note);
  }
  // two units at most, one per axis: a third on the left axis was drawn
  // against the first one's ticks (41 % as "40 s"), so it is left out
  const keepUnits = [...new Set(f.units)].slice(0, 2);
  const drop = f.units.map((u, k) => keepUnits.includes(u) ? -1 : k)
    .filter((k) => k >= 0);
  if (drop.length) {
    f.errors.push(drop.map((k) => f.labels[k + 1] + " (" + (f.units[k] ||
      "no unit") + ")").join(", ") + " not drawn: a chart shows two " +
      "units at most (" + keepUnits.map((u) => u || "no unit").join(", ") +
      ")");
    const keep = (row) => row.filter((v, i) => i === 0 ||
      !drop.includes(i - 1));
    f.labels = keep(f.labels);
    f.data = f.data.map(keep);
    f.units = f.units.filter((u, k) => !drop.includes(k));
  }
  note.textContent = f.errors.join("; ");
  note.hidden = f.errors.length === 0;
  if (f.labels.length < 2) {
    if (c) { c.g.destroy(); delete charts[boxId]; delete window.tocsinCharts[boxId]; }
    box.querySelectorAll(".chart, .chart-legend").forEach((e) => e.remove());
    if (!f.errors.length) { note.textContent = "No metric to draw."; note.hidden = false; }
    return;
  }
  const axisUnits = [...new Set(f.units)];
  const y2unit = axisUnits.length > 1 ? axisUnits[1] : null;
  const seriesOpts = {};
  f.labels.slice(1).forEach((l, k) => {
    if (y2unit !== null && f.units[k] === y2unit) seriesOpts[l] = { axis: "y2" };
  });
  // the chart's values are in base units already (s, B, %).  dygraphs
  // puts what these return into the page as HTML: a unit is API text (a
  // passive result may send any 16 bytes), so it is escaped here
  const unitOf = {};
  f.labels.slice(1).forEach((l, k) => { unitOf[l] = f.units[k]; });
  // hover values in each series' own unit
  const fmt = (u) => (v, o, name) => escapeHTML(human(v,
    name in unitOf ? unitOf[name] : u));
  const tick = (u, axis) => (v, gran, o, g) => {
    const r = g.yAxisRange(axis);
    return escapeHTML(human(v, u, Math.max(Math.abs(r[0]),
      Math.abs(r[1]))));
  };
  const span = dataSpan(f.data);
  let win = null;
  if (!range && span) {
    // fit the data: from a twentieth of the span before the first value;
    // at least a minute or 20 steps shown, so a few values are a line
    const end = Date.now();
    const least = Math.max(60e3, 20e3 * f.step);
    let start = span[0] - (end - span[0]) / 20;
    if (end - start < least) start = end - least;
    win = [start, end];
  }
  const oneUnit = axisUnits.length === 1 ? axisUnits[0] : null;
  const drawn = (lines || []).filter(() => oneUnit !== null).map((l) =>
    ({ v: baseUnit(l.v, l.unit)[0], crit: l.crit }));
  const opts = {
    // the ticks carry the unit ("22 ms"); the axis is labelled by them
    labels: f.labels,
    series: seriesOpts,
    legend: "always",
    labelsSeparateLines: false,
    labelsKMB: false,
    showRangeSelector: true,
    rangeSelectorHeight: 30,
    drawPoints: f.data.length < 120,
    strokeWidth: 1.5,
    axes: {
      x: { pixelsPerLabel: 90, axisLabelWidth: 70 },
      y: { valueFormatter: fmt(axisUnits[0] || ""),
           axisLabelFormatter: tick(axisUnits[0] || "", 0),
           axisLabelWidth: 70 },
      y2: { valueFormatter: fmt(y2unit || ""),
            axisLabelFormatter: tick(y2unit || "", 1), axisLabelWidth: 70,
            independentTicks: true },
    },
    // the key: the values under the mouse, else each series' last one
    legendFormatter: (data) => {
      const g = data.dygraph;
      const sel = data.x !== undefined;
      const parts = data.series.map((x, k) => {
        let y = x.y;
        if (!sel) {
          let r = g.numRows() - 1;
          while (r >= 0 && g.getValue(r, k + 1) === null) r--;
          y = r >= 0 ? g.getValue(r, k + 1) : null;
        }
        return "<span><b style='color: " + x.color + ";'>" + x.dashHTML +
          " " + x.labelHTML + "</b>: " + escapeHTML(human(y,
          unitOf[x.label])) + "</span>";
      });
      return (sel ? escapeHTML(data.xHTML) : "last") + ": " +
        parts.join(" ");
    },
    colors: ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf",
      "#7f7f7f", "#bcbd22", "#e377c2"],
    underlayCallback: (ctx, area, g) => {
      const [lo, hi] = g.yAxisRange(0);
      for (const l of drawn) {
        if (l.v < lo || l.v > hi) continue;
        const y = g.toDomYCoord(l.v, 0);
        ctx.strokeStyle = l.crit ? "#c62828" : "#e69500";
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(area.x, y);
        ctx.lineTo(area.x + area.w, y);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    },
  };
  if (win) opts.dateWindow = win;
  const key = JSON.stringify([series, range]);
  if (c && c.key === key) {
    // a refresh: new values; the window follows the data unless the
    // user moved it (zoom, pan, the range strip)
    const now = c.g.xAxisRange();
    const moved = !c.auto || Math.abs(now[0] - c.auto[0]) > 1 ||
      Math.abs(now[1] - c.auto[1]) > 1;
    const upd = { file: f.data };
    if (!moved && win) upd.dateWindow = win;
    c.g.updateOptions(upd);
    if (!moved) c.auto = win ? win : null;
    return;
  }
  if (c) c.g.destroy();
  box.querySelectorAll(".chart, .chart-legend").forEach((e) => e.remove());
  const div = document.createElement("div");
  div.className = "chart";
  const legend = document.createElement("div");
  legend.className = "chart-legend";
  box.prepend(div, legend);
  opts.labelsDiv = legend;
  const g = new Dygraph(div, f.data.length ? f.data :
    [[new Date(), ...f.labels.slice(1).map(() => null)]], opts);
  charts[boxId] = { g: g, key: key, auto: win };
  window.tocsinCharts[boxId] = g;
}

/* ---- overview: the graphs of one check ---- */

let checkList = [];     // the last GET /api/v1/checks, for every view

async function loadChecks() {
  const r = await api("/api/v1/checks");
  if (r.status === 200) checkList = r.body.checks || [];
  return r.status === 200;
}

function loadGraphChecks() {
  const sel = $("graph-check");
  const keep = sel.value || localStorage.getItem("tocsin.graph") || "";
  const withMetrics = checkList.filter((c) => c.metrics &&
    c.metrics.length > 0);
  sel.replaceChildren(...withMetrics.map((c) => {
    const o = document.createElement("option");
    o.value = c.name;
    o.textContent = c.name;
    return o;
  }));
  if (keep && withMetrics.some((c) => c.name === keep)) sel.value = keep;
}

function metricLines(c, names) {
  // thresholds of one metric: the chart draws them when in view
  if (names.length !== 1) return [];
  const m = (c.metrics || []).find((x) => x.name === names[0]);
  const out = [];
  if (m && typeof m.warn === "number") out.push({ v: m.warn, unit: m.unit, crit: false });
  if (m && typeof m.crit === "number") out.push({ v: m.crit, unit: m.unit, crit: true });
  return out;
}

function showGraphs() {
  const sel = $("graph-check");
  const note = $("graph-note");
  const c = checkList.find((x) => x.name === sel.value);
  note.hidden = true;
  if (!c) {
    note.textContent = "No check has metrics yet.";
    note.hidden = false;
    return;
  }
  localStorage.setItem("tocsin.graph", c.name);
  const names = c.metrics.map((m) => m.name).slice(0, 8);
  drawChart("graphs", names.map((m) => ({ check: c.name, metric: m })),
    $("graph-range").dataset.range || "", metricLines(c, names));
  lastCharts = Date.now();
}

/* ---- #/checks: every check, filtered ---- */

function checksFilter() {
  return { state: $("f-state").value, group: $("f-group").value,
    type: $("f-type").value, text: $("f-text").value.trim().toLowerCase() };
}

function fillSelect(sel, values, first, label) {
  const keep = sel.value;
  const opts = [first].concat(values.map((v) => [v, label ? label(v) : v]));
  sel.replaceChildren(...opts.map(([v, label]) => {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = label;
    return o;
  }));
  if (values.includes(keep)) sel.value = keep;
}

function showChecks() {
  const all = checkList;
  const uniq = (f) => [...new Set(all.map(f).filter((v) => v))].sort();
  fillSelect($("f-state"), STATES, ["", "every state"], (s) => s + " (" +
    all.filter((c) => c.state === s).length + ")");
  fillSelect($("f-group"), uniq((c) => c.group), ["", "every group"]);
  fillSelect($("f-type"), uniq((c) => c.type), ["", "every type"]);
  const f = checksFilter();
  const list = all.filter((c) =>
    (!f.state || c.state === f.state) &&
    (!f.group || c.group === f.group) &&
    (!f.type || c.type === f.type) &&
    (!f.text || [c.name, c.host, c.group, c.summary, c.type].some((v) =>
      v && String(v).toLowerCase().includes(f.text))));
  $("checks-count").textContent = list.length === all.length ?
    "(" + all.length + ")" : "(" + list.length + " of " + all.length + ")";
  $("checks-none").hidden = list.length > 0;
  setRows(document.querySelector("#checks tbody"), list.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.check = c.name;
    link(cell(tr, ""), "#/check/" + encodeURIComponent(c.name), c.name);
    cell(tr, c.state + (c.state_type === "soft" ? " (soft)" : ""),
         "state " + c.state);
    cell(tr, c.type);
    cell(tr, c.group);
    cell(tr, c.host);
    cell(tr, c.last_check ? age(c.last_check) + " ago" : "never");
    cell(tr, c.summary, "summary");
    return tr;
  }));
}

function link(td, href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  td.appendChild(a);
  return a;
}

/* ---- #/check/NAME ---- */

let checkView = { name: null, chosen: null, extra: [] };

function detailRows(tbody, pairs) {
  setRows(tbody, pairs.filter(([, v]) => v !== null && v !== undefined &&
    v !== "").map(([k, v]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = k;
    tr.appendChild(th);
    cell(tr, v);
    return tr;
  }));
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() + " (" + age(iso) + " ago)" :
    null;
}

async function showCheck(name, chartsToo) {
  if (checkView.name !== name)
    checkView = { name: name, chosen: null, extra: [] };
  const r = await api("/api/v1/checks/" + encodeURIComponent(name));
  const note = $("check-note");
  $("check-name").textContent = name;
  $("check-body").hidden = r.status !== 200;
  $("check-run").hidden = r.status !== 200;
  if (r.status !== 200) {
    note.textContent = (r.body && r.body.error) || "HTTP " + r.status;
    note.hidden = false;
    $("check-state").textContent = "";
    return;
  }
  note.hidden = true;
  const c = r.body;
  $("check-state").textContent = c.state + (c.state_type === "soft" ?
    " (soft " + c.attempt + "/" + c.max_attempts + ")" : "");
  $("check-state").className = "state " + c.state;
  $("check-summary").textContent = c.summary || "";
  $("check-long").textContent = c.long_output || "";
  $("check-long").hidden = !c.long_output;
  detailRows($("check-details").tBodies[0], [
    ["Type", c.type], ["Host", c.host], ["Group", c.group],
    ["Rule", c.rule],
    ["Last run", when(c.last_check)],
    ["Next run", c.next_check ? new Date(c.next_check).toLocaleString() :
      null],
    ["Interval", c.interval + " s"],
    ["Run took", c.last_check ? c.duration_ms + " ms" : null],
    ["State since", when(c.last_state_change)],
    ["Hard state since", when(c.last_hard_state_change)],
    ["Flapping", c.flapping ? "yes (" + c.flap_percent + " %)" : "no"],
    ["Depends on", (c.depends_on || []).join(", ")]]);
  const metrics = c.metrics || [];
  if (checkView.chosen === null)
    checkView.chosen = metrics.length ? [metrics[0].name] : [];
  setRows($("check-metrics").tBodies[0], metrics.map((m) => {
    const tr = document.createElement("tr");
    tr.dataset.metric = m.name;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = checkView.chosen.includes(m.name);
    box.setAttribute("aria-label", "chart " + m.name);
    box.addEventListener("change", () => {
      checkView.chosen = metrics.map((x) => x.name).filter((n) =>
        n === m.name ? box.checked : checkView.chosen.includes(n));
      drawCheckChart(c);
    });
    cell(tr, "").appendChild(box);
    cell(tr, m.name);
    // a counter's last value is the count itself (the chart draws its rate)
    cell(tr, human(m.value, m.unit === "c" ? "" : m.unit) +
      (m.counter ? " (counter)" : ""), "num");
    cell(tr, m.warn === null ? "" : human(m.warn, m.unit), "num");
    cell(tr, m.crit === null ? "" : human(m.crit, m.unit), "num");
    return tr;
  }));
  if (!metrics.length) {
    const tr = document.createElement("tr");
    cell(tr, "No metrics in the last result.", "muted").colSpan = 5;
    setRows($("check-metrics").tBodies[0], [tr]);
  }
  checkView.check = c;
  if (chartsToo) {
    fillCompare();
    drawCheckChart(c);
  }
  const h = await api("/api/v1/incidents?status=all&limit=20&check=" +
    encodeURIComponent(name));
  const list = h.status === 200 ? h.body.incidents || [] : [];
  $("check-incidents-none").hidden = list.length > 0;
  setRows($("check-incidents").tBodies[0], list.map((inc) => {
    const tr = document.createElement("tr");
    tr.dataset.id = inc.id;
    link(cell(tr, ""), "#/incident/" + inc.id, "#" + inc.id);
    cell(tr, inc.priority, "prio " + inc.priority);
    cell(tr, inc.title);
    cell(tr, inc.status, "status");
    cell(tr, inc.opened_at ? new Date(inc.opened_at).toLocaleString() : "");
    cell(tr, inc.resolved_at ? new Date(inc.resolved_at).toLocaleString() :
      "");
    return tr;
  }));
}

function fillCompare() {
  const sel = $("check-compare");
  const opts = [["", "+ another check's metric…"]];
  for (const c of checkList)
    if (c.name !== checkView.name)
      for (const m of c.metrics || [])
        opts.push([JSON.stringify({ check: c.name, metric: m.name }),
          c.name + ": " + m.name]);
  sel.replaceChildren(...opts.map(([v, label]) => {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = label;
    return o;
  }));
}

function drawCheckChart(c) {
  const series = checkView.chosen.map((m) => ({ check: c.name, metric: m }))
    .concat(checkView.extra);
  drawChart("check-chart-box", series.slice(0, 16),
    $("check-range").dataset.range || "",
    checkView.extra.length ? [] : metricLines(c, checkView.chosen));
  lastCharts = Date.now();
}

/* ---- #/incident/ID ---- */

async function showIncident(id) {
  const r = await api("/api/v1/incidents/" + encodeURIComponent(id));
  const note = $("inc-note");
  $("inc-id").textContent = "#" + id;
  $("inc-body").hidden = r.status !== 200;
  if (r.status !== 200) {
    note.textContent = (r.body && r.body.error) || "HTTP " + r.status;
    note.hidden = false;
    $("inc-title").textContent = "";
    return;
  }
  note.hidden = true;
  const inc = r.body;
  $("inc-title").textContent = inc.title;
  detailRows($("inc-details").tBodies[0], [
    ["Status", inc.status + (inc.acknowledged_by ? " by " +
      inc.acknowledged_by : "")],
    ["Priority", inc.priority + " (impact " + inc.impact + ", urgency " +
      inc.urgency + ")"],
    ["Root cause", inc.root_cause], ["Group", inc.group],
    ["Opened", when(inc.opened_at)], ["Acknowledged", when(inc.acknowledged_at)],
    ["Resolved", when(inc.resolved_at)], ["Closed", when(inc.closed_at)],
    ["Flapping", inc.flapping ? "yes" : null]]);
  document.querySelector("#inc-details tbody tr td").className =
    "status";
  $("inc-ack").hidden = inc.status !== "open";
  $("inc-resolve").hidden = !(inc.status === "open" ||
    inc.status === "acknowledged");
  $("inc-comment-form").hidden = inc.status === "closed";
  setRows($("inc-checks").tBodies[0], (inc.checks || []).map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.check = c.name;
    link(cell(tr, ""), "#/check/" + encodeURIComponent(c.name), c.name);
    cell(tr, c.role.replace("_", " "));
    cell(tr, c.state, "state " + c.state);
    cell(tr, c.stored_state, "state " + c.stored_state);
    return tr;
  }));
  $("inc-timeline").replaceChildren(...(inc.timeline || []).map((e) => {
    const li = document.createElement("li");
    li.dataset.kind = e.kind;
    const t = document.createElement("time");
    t.textContent = new Date(e.at).toLocaleString();
    const k = document.createElement("b");
    k.textContent = e.kind.replace("_", " ");
    const x = document.createElement("span");
    x.textContent = e.text;
    li.append(t, " ", k, " ", x);
    return li;
  }));
  const n = await api("/api/v1/notifications?incident=" +
    encodeURIComponent(id) + "&limit=200");
  const pages = n.status === 200 ? n.body.notifications || [] : [];
  $("inc-pages-none").hidden = pages.length > 0;
  $("inc-pages-none").textContent = n.status === 200 ?
    "No notification for this incident." : absent(n.status) ?
    "The notifier is not part of this tocsind." : "Notifications: HTTP " +
    n.status;
  if (n.status !== 200) $("inc-pages-none").hidden = false;
  $("inc-pages").hidden = pages.length === 0;
  setRows($("inc-pages").tBodies[0], pages.map((p) => {
    const tr = document.createElement("tr");
    cell(tr, p.event);
    cell(tr, p.channel);
    cell(tr, p.contact + (p.address ? " <" + p.address + ">" : ""));
    cell(tr, p.status, "status " + p.status);
    cell(tr, p.attempts, "num");
    cell(tr, p.sent_at ? new Date(p.sent_at).toLocaleString() : "");
    cell(tr, p.last_error || "");
    return tr;
  }));
}

/* ---- #/problems: problem records ---- */

async function showProblems() {
  const st = $("prob-status").value;
  const r = await api("/api/v1/problems?status=" + (st || "all"));
  const note = $("prob-note");
  if (r.status !== 200) {
    note.textContent = absent(r.status) ? "No problem records in this " +
      "tocsind." : "GET /api/v1/problems: HTTP " + r.status;
    note.hidden = false;
    return;
  }
  note.hidden = true;
  const list = (r.body.problems || []).filter((p) =>
    st || p.status !== "resolved");
  $("prob-count").textContent = "(" + list.length + ")";
  $("prob-none").hidden = list.length > 0;
  setRows($("prob-list").tBodies[0], list.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.problem = p.id;
    cell(tr, String(p.id));
    cell(tr, p.status.replace("_", " "), "problem " + p.status);
    cell(tr, p.title);
    const rc = cell(tr, "");
    if (p.root_cause)
      link(rc, "#/check/" + encodeURIComponent(p.root_cause), p.root_cause);
    const td = cell(tr, "");
    (p.incidents || []).forEach((id, k) => {
      if (k > 0) td.appendChild(document.createTextNode(" "));
      link(td, "#/incident/" + id, "#" + id);
    });
    cell(tr, p.opened_at ? age(p.opened_at) + " ago" : "");
    cell(tr, p.workaround || "", "summary");
    return tr;
  }));
}

/* ---- #/changes: change events ---- */

async function showChanges() {
  const r = await api("/api/v1/changes?since=" + $("chg-since").value);
  const note = $("chg-note");
  if (r.status !== 200) {
    note.textContent = absent(r.status) ? "No change events in this " +
      "tocsind." : "GET /api/v1/changes: HTTP " + r.status;
    note.hidden = false;
    return;
  }
  note.hidden = true;
  const list = (r.body.changes || []).slice().reverse();   // newest first
  $("chg-count").textContent = "(" + list.length + ")";
  $("chg-none").hidden = list.length > 0;
  setRows($("chg-list").tBodies[0], list.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.change = c.id;
    cell(tr, String(c.id));
    cell(tr, (c.started_at || "").replace("T", " ").replace("Z", ""));
    cell(tr, (c.ended_at || "").replace("T", " ").replace("Z", ""));
    cell(tr, c.title);
    cell(tr, c.by || "");
    const td = cell(tr, "");
    (c.checks || []).forEach((n) => {
      link(td, "#/check/" + encodeURIComponent(n), n);
      td.appendChild(document.createTextNode(" "));
    });
    const rest = (c.hosts || []).map((h) => "host " + h).concat(
      (c.groups || []).map((g) => "group " + g));
    td.appendChild(document.createTextNode(rest.join(", ")));
    cell(tr, c.freeze || "", c.freeze ? "freeze" : "");
    if (c.freeze) tr.className = "in-freeze";
    return tr;
  }));
}

/* ---- the router ---- */

function route() {
  const [h, query] = location.hash.replace(/^#\/?/, "").split("?");
  const [what, ...rest] = h.split("/");
  let arg = "";
  try { arg = decodeURIComponent(rest.join("/")); } catch (e) { arg = ""; }
  if (what === "checks") {
    const st = new URLSearchParams(query || "").get("state");
    return st === null ? { view: "checks" } : { view: "checks", state: st };
  }
  if (what === "problems") return { view: "problems" };
  if (what === "changes") return { view: "changes" };
  if (what === "check" && arg) return { view: "check", name: arg };
  if (what === "incident" && arg) return { view: "incident", id: arg };
  return { view: "home" };
}

function showView(v) {
  for (const el of document.querySelectorAll(".view"))
    el.hidden = el.id !== "view-" + v;
  for (const a of document.querySelectorAll("nav a"))
    a.className = a.dataset.nav === v ? "on" : "";
}

/*
 * The capacity report (GET /api/v1/capacity): the table, and for the
 * first CAPACITY_GRAPHS rows the metric's graph over 30 days with its
 * trend drawn dashed to a little past the crossing (?trend=).  Refreshed
 * with the graphs: the report itself changes every capacity_refresh.
 */
const CAPACITY_GRAPHS = 4;

function num(v, unit) {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  const t = a !== 0 && (a >= 1e5 || a < 1e-2) ? v.toExponential(2) :
    String(Math.round(v * 100) / 100);
  return t + (unit || "");
}

async function loadCapacity() {
  const r = await api("/api/v1/capacity?horizon=90d");
  const note = $("capacity-note");
  const box = $("capacity-graphs");
  if (r.status !== 200) {
    note.textContent = absent(r.status) ?
      "No capacity report in this tocsind." : r.status === 503 ?
      "The first capacity report is being computed." :
      "GET /api/v1/capacity: HTTP " + r.status;
    note.hidden = false;
    return;
  }
  const rows = r.body.rows || [];
  note.textContent = rows.length ? "" : "Nothing reaches its limit " +
    "within 90 days (" + r.body.metrics + " metrics with a limit).";
  note.hidden = rows.length > 0;
  setRows($("capacity").tBodies[0], rows.map((x) => {
    const tr = document.createElement("tr");
    const u = x.unit || "";
    cell(tr, num(x.days_left), "num");
    cell(tr, (x.crosses_at || "").slice(0, 10));
    cell(tr, x.check);
    cell(tr, x.metric);
    cell(tr, num(x.value_now, u), "num");
    cell(tr, num(x.limit, u) + (x.direction === "down" ? " ↓" : ""), "num");
    cell(tr, (x.growth_per_week > 0 ? "+" : "") +
      num(x.growth_per_week, u), "num");
    cell(tr, num(x.r2), "num");
    cell(tr, x.host || "");
    return tr;
  }));
  box.replaceChildren(...rows.slice(0, CAPACITY_GRAPHS).map((x) => {
    const img = new Image();
    const until = Math.floor(Date.parse(x.crosses_at) / 1000 +
      x.days_left * 86400 * 0.1 + 86400);
    img.alt = x.check + " " + x.metric + " trend";
    img.className = "capacity-graph";
    img.src = "/api/v1/graph/" + encodeURIComponent(x.check) + "/" +
      encodeURIComponent(x.metric) + ".png?since=30d&until=" + until +
      "&trend=" + x.direction + "&width=600&height=220&t=" + Date.now();
    img.addEventListener("error", () => img.remove());
    return img;
  }));
}

async function refresh(force) {
  const r = route();
  showView(r.view);
  if (await loadStatus()) {
    const due = force || Date.now() - lastCharts > CHART_REFRESH_MS;
    if (r.view === "home") {
      await Promise.all([loadIncidents(), loadProblems(), loadSlos()]);
      if (due) {
        await loadChecks();
        loadGraphChecks();
        showGraphs();
      }
      if (force || Date.now() - lastGraphs > GRAPH_REFRESH_MS) {
        lastGraphs = Date.now();
        await loadCapacity();
      }
    } else if (r.view === "checks") {
      await loadChecks();
      if (r.state !== undefined && !pendingFilterDone) {
        fillSelect($("f-state"), STATES, ["", "every state"]);
        $("f-state").value = r.state;
        pendingFilterDone = true;
      }
      showChecks();
    } else if (r.view === "check") {
      if (due) await loadChecks();
      await showCheck(r.name, due);
    } else if (r.view === "incident") {
      await showIncident(r.id);
    } else if (r.view === "problems") {
      await showProblems();
    } else if (r.view === "changes") {
      await showChanges();
    }
  }
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

let pendingFilterDone = false;

$("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("token").value.trim();
  if (t) localStorage.setItem("tocsin.token", t);
  $("token").value = "";
  $("token").placeholder = t ? "token saved" : "API token (for actions)";
  say(t ? "Token saved in this browser." : "");
  refresh();
});
$("token-forget").addEventListener("click", () => {
  localStorage.removeItem("tocsin.token");
  $("token").placeholder = "API token (for actions)";
  say("Token forgotten.");
});
$("graph-check").addEventListener("change", showGraphs);
rangeButtons($("graph-range"), showGraphs);
rangeButtons($("check-range"), () => drawCheckChart(checkView.check));
$("check-compare").addEventListener("change", (ev) => {
  const v = ev.target.value;
  ev.target.value = "";
  if (!v) return;
  const s = JSON.parse(v);
  if (!checkView.extra.some((x) => x.check === s.check &&
      x.metric === s.metric)) checkView.extra.push(s);
  drawCheckChart(checkView.check);
});
$("check-run").addEventListener("click", () => act("/api/v1/checks/" +
  encodeURIComponent(checkView.name) + "/run", "run " + checkView.name));
for (const id of ["f-state", "f-group", "f-type"])
  $(id).addEventListener("change", showChecks);
$("f-text").addEventListener("input", showChecks);
$("prob-status").addEventListener("change", showProblems);
$("chg-since").addEventListener("change", showChanges);
for (const id of ["prob-filters", "chg-filters"])
  $(id).addEventListener("submit", (ev) => ev.preventDefault());
$("check-filters").addEventListener("submit", (ev) => ev.preventDefault());
$("f-clear").addEventListener("click", () => {
  for (const id of ["f-state", "f-group", "f-type", "f-text"]) $(id).value = "";
  showChecks();
});
for (const el of document.querySelectorAll("#summary .count[data-state]")) {
  el.addEventListener("click", () => {
    pendingFilterDone = false;
    location.hash = "#/checks?state=" + el.dataset.state;
  });
  el.title = el.title || "list these checks";
}
$("inc-ack").addEventListener("click", () => {
  const id = route().id;
  act("/api/v1/incidents/" + id + "/ack", "acknowledge incident " + id);
});
$("inc-resolve").addEventListener("click", () => {
  const id = route().id;
  act("/api/v1/incidents/" + id + "/resolve", "resolve incident " + id);
});
$("inc-comment-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = route().id;
  const text = $("inc-comment").value.trim();
  if (!text) return;
  if (await act("/api/v1/incidents/" + id + "/comment",
      "comment on incident " + id, { comment: text }))
    $("inc-comment").value = "";
});
window.addEventListener("hashchange", () => {
  window.scrollTo(0, 0);
  refresh(true);
});
if (token()) $("token").placeholder = "token saved";

refresh(true);
setInterval(refresh, REFRESH_MS);
