// chaoslab dashboard: polls the lab's JSON endpoints once a second and redraws. No dependencies.
"use strict";

const API = "/_chaoslab/api";
// The lab embeds its token in the page it serves; state-changing calls must carry it.
const LAB_TOKEN = document.querySelector('meta[name="chaoslab-token"]').content;
const POLL_MS = 1000;
const MAX_EVENTS = 500;
const state = { lastSeq: 0, events: [], lever: null, running: 0, filter: "" };

// h("div", {class: "x"}, child, "text") — builds DOM with textContent only, never HTML strings.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "title") el.title = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  return el;
}

const cls = (s) => "s-" + String(s || "unknown").toLowerCase().replace(/[^a-z0-9_-]/g, "-");
const pill = (s, extra) => h("span", { class: "pill " + cls(s) + (extra ? " " + extra : "") }, s || "–");

function fmtDuration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const d = Math.floor(seconds / 86400), hh = Math.floor(seconds / 3600) % 24;
  const m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  if (d) return `${d}d ${hh}h ${m}m`;
  if (hh) return `${hh}h ${m}m ${s}s`;
  return m ? `${m}m ${s}s` : `${s}s`;
}

function fmtClock(epoch) {
  if (!epoch) return "–";
  const t = new Date(epoch * 1000);
  return t.toTimeString().slice(0, 8);
}

function replace(id, ...nodes) {
  document.getElementById(id).replaceChildren(...nodes.flat());
}

async function getJSON(path) {
  const resp = await fetch(API + path, { cache: "no-store" });
  if (!resp.ok) throw new Error(`${path}: HTTP ${resp.status}`);
  return resp.json();
}

// ---- header and lever ------------------------------------------------------------------
function renderHeader(o) {
  const hd = o.header;
  document.getElementById("h-stack").textContent = hd.stack || "(no stack)";
  document.getElementById("h-network").textContent =
    (hd.network_mode === "loopback" ? "loopback fallback" : hd.network_mode || "–") + (hd.vpcs.length ? " · " + hd.vpcs.join(", ") : "");
  document.getElementById("h-api").textContent = hd.api;
  document.getElementById("h-region").textContent = `${hd.region} · ${hd.account_id}`;
  document.getElementById("h-uptime").textContent = fmtDuration(hd.uptime);
  document.title = `chaoslab · ${hd.stack || "lab"}`;
  state.lever = o.safety_lever;
  state.running = o.experiments.filter((e) => ["pending", "initiating", "running", "stopping"].includes(e.state.status)).length;
  const lv = document.getElementById("lever-state");
  lv.className = "pill " + cls(o.safety_lever.status);
  lv.textContent = "lever " + o.safety_lever.status;
  lv.title = o.safety_lever.reason || "";
  const btn = document.getElementById("lever-button");
  const engaged = o.safety_lever.status !== "disengaged";
  btn.textContent = engaged ? "Disengage lever" : "Engage safety lever";
  btn.className = engaged ? "safe" : "danger";
  btn.disabled = o.safety_lever.status === "engaging";
}

function openLever() {
  const engaging = state.lever && state.lever.status === "disengaged";
  document.getElementById("lever-title").textContent = engaging ? "Engage the FIS safety lever?" : "Disengage the FIS safety lever?";
  document.getElementById("lever-text").textContent = engaging
    ? `Every running experiment is stopped (${state.running} running now) and new ones are refused until it is disengaged.`
    : "Experiments may start again.";
  const confirm = document.getElementById("lever-confirm");
  confirm.textContent = engaging ? "Engage" : "Disengage";
  confirm.className = engaging ? "danger" : "safe";
  document.getElementById("lever-reason").value = "";
  document.getElementById("lever-error").textContent = "";
  document.getElementById("lever-dialog").showModal();
}

async function submitLever(ev) {
  const dialog = document.getElementById("lever-dialog");
  if (ev.submitter && ev.submitter.value !== "confirm") return;
  ev.preventDefault();
  const reason = document.getElementById("lever-reason").value.trim();
  const status = state.lever && state.lever.status === "disengaged" ? "engaged" : "disengaged";
  const confirm = document.getElementById("lever-confirm");
  confirm.disabled = true;  // engaging waits until every running experiment has stopped
  const resp = await fetch(API + "/safety-lever", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Chaoslab-Token": LAB_TOKEN },
    body: JSON.stringify({ status, reason }),
  }).finally(() => { confirm.disabled = false; });
  if (!resp.ok) {
    const err = await resp.json().catch(() => ({ message: `HTTP ${resp.status}` }));
    document.getElementById("lever-error").textContent = `${err.code || "Error"}: ${err.message}`;
    return;
  }
  dialog.close();
  pollOverview();
}

// ---- architecture ----------------------------------------------------------------------
function targetCard(t) {
  return h("div", { class: "target " + t.state, "data-target-id": t.id, "data-state": t.state },
    h("div", { class: "row" }, h("span", { class: "id mono", title: t.id }, t.id), pill(t.state)),
    h("div", { class: "meta" }, [t.az, t.ip && `${t.ip}:${t.port}`, t.unit_state && `unit ${t.unit_state.toLowerCase()}`]
      .filter(Boolean).join(" · ")),
    t.reason ? h("div", { class: "reason", title: t.description || "" }, t.reason) : null);
}

function dbBox(db) {
  return h("div", { class: "box db-cluster " + db.status, "data-db": db.cluster },
    h("div", { class: "row" }, h("span", { class: "name" }, db.cluster), " ", pill(db.status)),
    h("div", { class: "meta mono" }, `${db.engine} · :${db.port}`),
    db.instances.map((m) => h("div", { class: "member " + m.role },
      h("span", { class: "role" }, m.role), h("span", { class: "mono" }, m.id),
      h("span", { class: "meta" }, m.az), pill(m.status))));
}

function renderTopology(o) {
  const rows = o.load_balancers.map((lb) => h("div", { class: "flow", "data-lb": lb.name },
    h("div", { class: "col" }, h("div", { class: "box lb" },
      h("div", { class: "name" }, lb.name), h("div", { class: "meta mono" }, lb.listeners.join(" ")),
      h("div", { class: "meta" }, "ALB · ", lb.state || ""))),
    h("div", { class: "arrow" }, "→"),
    h("div", { class: "col", style: "flex:1" }, lb.target_groups.map((tg) => h("div", { class: "flow" },
      h("div", { class: "col" }, h("div", { class: "box tg" },
        h("div", { class: "name" }, tg.name),
        h("div", { class: "meta" }, `${tg.target_type} · :${tg.port}`),
        h("div", { class: "meta" }, `health ${tg.health_check}`),
        h("div", { class: "meta" }, summarize(tg.targets)))),
      h("div", { class: "arrow" }, "→"),
      tg.targets.length ? h("div", { class: "targets" }, tg.targets.map(targetCard))
        : h("p", { class: "empty" }, "no registered targets")))),
  ));
  if (o.databases.length) {
    rows.push(h("div", { class: "flow" },
      h("div", { class: "col" }, h("div", { class: "box" }, h("div", { class: "name" }, "database"),
        h("div", { class: "meta" }, "units ⇢ endpoint proxies"))),
      h("div", { class: "arrow" }, "→"), h("div", { class: "db" }, o.databases.map(dbBox))));
  }
  replace("topology", rows.length ? rows : h("p", { class: "empty" }, "no load balancers or databases in this lab"));
}

function summarize(targets) {
  const counts = {};
  for (const t of targets) counts[t.state] = (counts[t.state] || 0) + 1;
  return Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(" · ") || "empty";
}

// ---- alarms and experiments ------------------------------------------------------------
function renderAlarms(o) {
  if (!o.alarms.length) return replace("alarms", h("p", { class: "empty" }, "no alarms"));
  replace("alarms", h("table", {}, h("tr", {}, ["state", "alarm", "condition", "since"].map((c) => h("th", {}, c))),
    o.alarms.map((a) => h("tr", { "data-alarm": a.name },
      h("td", {}, pill(a.state)), h("td", { class: "mono", title: a.reason }, a.name),
      h("td", { class: "reason-text" }, a.condition), h("td", { class: "mono" }, fmtClock(a.since))))));
}

function renderExperiments(o) {
  if (!o.experiments.length) return replace("experiments", h("p", { class: "empty" }, "no experiments yet"));
  replace("experiments", h("table", {},
    h("tr", {}, ["experiment", "template", "state", "actions", "started", "took"].map((c) => h("th", {}, c))),
    o.experiments.map((e) => h("tr", { "data-experiment": e.id },
      h("td", { class: "mono" }, e.id), h("td", { class: "mono" }, e.template),
      h("td", {}, pill(e.state.status), e.state.reason ? h("div", { class: "reason-text" }, e.state.reason) : null),
      h("td", {}, h("div", { class: "actions" }, e.actions.map((a) =>
        h("span", { class: "pill " + cls(a.state.status), title: `${a.action_id}: ${a.state.reason || ""}` },
          `${a.name} ${a.state.status}`)))),
      h("td", { class: "mono" }, fmtClock(e.started || e.created)),
      h("td", { class: "mono" }, e.started ? fmtDuration((e.ended || o.now) - e.started) : "–")))));
}

// ---- traffic ---------------------------------------------------------------------------
function sparkline(series, window) {
  const W = 600, H = 54, bw = W / window;
  const peak = Math.max(1, ...series.requests);
  const el = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none" });
  series.requests.forEach((n, i) => {
    if (!n) return;
    const hgt = (n / peak) * (H - 4);
    el.append(svg("rect", { class: "req", x: i * bw, y: H - hgt, width: Math.max(1, bw - 1), height: hgt }));
    const e = series.errors[i];
    if (e) {
      const eh = (e / peak) * (H - 4);
      el.append(svg("rect", { class: "err", x: i * bw, y: H - eh, width: Math.max(1, bw - 1), height: eh }));
    }
  });
  const lat = series.p50_ms;
  const latPeak = Math.max(1, ...lat.filter((v) => v !== null));
  const pts = lat.map((v, i) => (v === null ? null : `${(i + 0.5) * bw},${H - 2 - (v / latPeak) * (H - 6)}`)).filter(Boolean);
  if (pts.length > 1) el.append(svg("polyline", { class: "lat", points: pts.join(" ") }));
  const title = svg("title", {});
  title.textContent = `peak ${peak} req/s, p50 latency peak ${latPeak} ms (line)`;
  el.append(title);
  return el;
}

function renderTraffic(t) {
  if (!t.load_balancers.length) return replace("traffic", h("p", { class: "empty" }, "no load balancers"));
  replace("traffic", t.load_balancers.map((lb) => {
    const lastLat = [...lb.p50_ms].reverse().find((v) => v !== null);
    return h("div", { class: "spark", "data-traffic": lb.name },
      h("div", { class: "label" }, h("div", { class: "name" }, lb.name),
        h("div", { class: "figures" },
          h("span", {}, h("b", {}, lb.rps_10s), " req/s"),
          h("span", {}, h("b", { class: lb.error_rate_10s > 0 ? "bad" : "" }, (lb.error_rate_10s * 100).toFixed(1) + "%"), " 5xx"),
          h("span", {}, h("b", {}, lastLat === undefined ? "–" : lastLat), " ms p50"))),
      sparkline(lb, t.window));
  }));
}

// ---- timeline --------------------------------------------------------------------------
const SKIP = new Set(["seq", "time", "kind"]);

// "arn:…:targetgroup/chaos-lab-tg/ab8e…" → "chaos-lab-tg": the name is what people read.
function shortArn(value) {
  const m = /:(?:targetgroup|loadbalancer\/app)\/([^/]+)/.exec(String(value || ""));
  return m ? m[1] : value;
}

function describe(ev) {
  switch (ev.kind) {
    case "target.health": return `${ev.target}${ev.port ? ":" + ev.port : ""} in ${shortArn(ev.target_group)}: ${ev.old || "–"} → ${ev.state}${ev.reason ? " (" + ev.reason + ")" : ""}`;
    case "unit.state": return `${ev.unit_kind || "unit"} ${ev.unit_id} ${ev.old || "–"} → ${ev.state}${ev.az ? " · " + ev.az : ""}${ev.ip ? " · " + ev.ip : ""}${ev.reason ? " (" + ev.reason + ")" : ""}`;
    case "alarm.state": return `${ev.alarm}: ${ev.old} → ${ev.new}${ev.reason ? " — " + ev.reason : ""}`;
    case "fault.applied": case "fault.reverted": return `${ev.fault} on ${ev.target}${ev.experiment ? " · " + ev.experiment : ""}${ev.action ? "/" + ev.action : ""}`;
    case "action.state": return `${ev.experiment}/${ev.action} ${ev.old || "–"} → ${ev.new}`;
    case "asg.activity": return `${ev.group}: ${ev.description || ev.cause || ""}`;
    case "experiment.state": return `${ev.experiment} ${ev.old || "–"} → ${ev.new}${ev.reason ? " (" + ev.reason + ")" : ""}`;
    default:
      return Object.entries(ev).filter(([k]) => !SKIP.has(k))
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  }
}

function eventRow(ev) {
  const family = ev.kind.split(".")[0];
  return h("li", { "data-kind": ev.kind, "data-seq": ev.seq },
    h("time", {}, fmtClock(ev.time)), h("span", { class: "kind k-" + family }, ev.kind),
    h("span", { class: "text" }, describe(ev)));
}

function renderEvents() {
  const f = state.filter.toLowerCase();
  const shown = f ? state.events.filter((e) => (e.kind + " " + describe(e)).toLowerCase().includes(f)) : state.events;
  replace("events", shown.length ? shown.map(eventRow) : h("li", { class: "empty" }, "no events"));
}

// ---- polling ---------------------------------------------------------------------------
function connected(ok) {
  document.getElementById("conn").className = ok ? "conn" : "conn down";
}

async function pollOverview() {
  try {
    const o = await getJSON("/overview");
    renderHeader(o); renderTopology(o); renderAlarms(o); renderExperiments(o);
    connected(true);
  } catch (err) { connected(false); }
}

async function pollTraffic() {
  try { renderTraffic(await getJSON("/traffic?window=60")); } catch (err) { connected(false); }
}

async function pollEvents() {
  try {
    const t = await getJSON(`/timeline?since=${state.lastSeq}&limit=${MAX_EVENTS}`);
    if (t.events.length) {
      state.events = t.events.concat(state.events).slice(0, MAX_EVENTS);
      state.lastSeq = t.last;
      renderEvents();
    } else if (!state.events.length) renderEvents();
  } catch (err) { connected(false); }
}

function loop(fn) {
  const tick = async () => { await fn(); setTimeout(tick, POLL_MS); };
  tick();
}

document.getElementById("lever-button").addEventListener("click", openLever);
document.querySelector("#lever-dialog form").addEventListener("submit", submitLever);
document.getElementById("filter").addEventListener("input", (e) => { state.filter = e.target.value; renderEvents(); });
loop(pollOverview); loop(pollTraffic); loop(pollEvents);
