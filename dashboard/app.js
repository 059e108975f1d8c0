/*
 * tocsin dashboard.  Everything comes from the API (docs/api.md) and is
 * refreshed every REFRESH_MS.  Text from the API is put in the page with
 * textContent only, never as HTML.  An endpoint that answers 404 or 501
 * (its module is not in this tocsind) leaves its part with a note, the
 * rest keeps working.  The token, pasted once, stays in localStorage and
 * goes with every request, so the page also works where reads need it.
 */
"use strict";

const REFRESH_MS = 5000;
const GRAPH_REFRESH_MS = 60000;
const PROBLEMS = "WARNING,CRITICAL,UNKNOWN,UNREACHABLE";
const STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN", "UNREACHABLE",
  "PENDING"];
const $ = (id) => document.getElementById(id);

let lastGraphs = 0;

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

async function act(path, what) {
  if (!token()) {
    say("Paste the API token (top right) to " + what + ".", true);
    return;
  }
  const r = await api(path, { method: "POST", body: { by: "dashboard" } });
  if (r.status >= 200 && r.status < 300) say("Done: " + what + ".");
  else say(what + " failed: HTTP " + r.status + ": " +
           ((r.body && r.body.error) || "no answer"), true);
  refresh();
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
    cell(tr, inc.id);
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
    cell(tr, c.name);
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

async function loadGraphChecks() {
  const r = await api("/api/v1/checks");
  if (r.status !== 200) return;
  const sel = $("graph-check");
  const keep = sel.value || localStorage.getItem("tocsin.graph") || "";
  const withMetrics = (r.body.checks || []).filter((c) =>
    c.metrics && c.metrics.length > 0);
  sel.replaceChildren(...withMetrics.map((c) => {
    const o = document.createElement("option");
    o.value = c.name;
    o.textContent = c.name;
    o.dataset.metrics = JSON.stringify(c.metrics.map((m) => m.name));
    return o;
  }));
  if (keep && withMetrics.some((c) => c.name === keep)) sel.value = keep;
}

function showGraphs() {
  const sel = $("graph-check");
  const box = $("graphs");
  const note = $("graph-note");
  const opt = sel.selectedOptions[0];
  box.replaceChildren();
  note.hidden = true;
  if (!opt) {
    note.textContent = "No check has metrics yet.";
    note.hidden = false;
    return;
  }
  localStorage.setItem("tocsin.graph", opt.value);
  const since = $("graph-since").value;
  for (const m of JSON.parse(opt.dataset.metrics)) {
    const img = new Image();
    img.alt = opt.value + " " + m;
    img.src = "/api/v1/graph/" + encodeURIComponent(opt.value) + "/" +
      encodeURIComponent(m) + ".png?" + (since ? "since=" + since + "&" : "") +
      "t=" + Date.now();
    img.addEventListener("error", () => {
      img.remove();
      note.textContent = "Graphs are not available from this tocsind.";
      note.hidden = false;
    });
    box.appendChild(img);
  }
  lastGraphs = Date.now();
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

async function refresh() {
  if (await loadStatus()) {
    await Promise.all([loadIncidents(), loadProblems()]);
    if (Date.now() - lastGraphs > GRAPH_REFRESH_MS) {
      await loadGraphChecks();
      showGraphs();
      await loadCapacity();
    }
  }
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

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
$("graph-since").addEventListener("change", showGraphs);
if (token()) $("token").placeholder = "token saved";

refresh();
setInterval(refresh, REFRESH_MS);
