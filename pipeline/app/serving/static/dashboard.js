// driftline's dashboard: polls the API of `driftline serve` and draws what it answers.
// Every figure comes from GET v1/metrics/model (the same JSON as `driftline metrics --json`),
// health, v1/alerts, and v1/predictions/{key}. Each displayed value keeps its raw number in a
// data-value attribute, so a test can compare it with the CLI exactly.
"use strict";

const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(250, Number(params.get("refresh_ms")) || 1000);
const SLOW_EVERY = 5; // history, alerts and health: every fifth refresh
const KEEP = 600; // wall-time samples kept per chart (ten minutes at 1 s)
const PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2"];

const samples = { t: [], records: [], throughput: [], pending: [], lateness50: [],
  lateness99: [], latency50: [], latency99: [], rolling: {}, auc: {} };
const charts = {};
let tick = 0;
const RATE_SPAN_S = 5;
const recent = []; // {t, records} of the last RATE_SPAN_S seconds: records per second

function $(id) { return document.getElementById(id); }

function fmt(value, digits) {
  if (value === null || value === undefined) return "-";
  if (typeof value !== "number") return String(value);
  if (!Number.isFinite(value)) return "∞";
  if (Number.isInteger(value) && digits === undefined) return value.toLocaleString("en-US");
  return value.toFixed(digits === undefined ? 4 : digits);
}

function fmtSeconds(value) {
  // A duration in the unit that reads best: 120 ms, 4.2 s, 3.5 min, 2.1 h, 12 d, 13 y.
  if (value === null || value === undefined) return "-";
  if (!Number.isFinite(value)) return "∞";
  const a = Math.abs(value);
  if (a === 0) return "0 s";
  if (a < 1) return `${+(value * 1000).toPrecision(3)} ms`;
  for (const [unit, size] of [["y", 31557600], ["d", 86400], ["h", 3600], ["min", 60]]) {
    if (a >= size) return `${+(value / size).toPrecision(3)} ${unit}`;
  }
  return `${+value.toPrecision(3)} s`;
}

function show(id, value, text) {
  const el = $(id);
  el.dataset.value = value === null || value === undefined ? "" : JSON.stringify(value);
  el.textContent = text === undefined ? fmt(value) : text;
}

async function getJSON(path) {
  const answer = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await answer.json();
  if (!answer.ok) {
    const error = new Error(body.detail || answer.statusText);
    error.status = answer.status;
    error.body = body;
    throw error;
  }
  return body;
}

function chart(id, series, opts) {
  const el = $(id);
  const width = Math.max(320, el.clientWidth || 520);
  const made = new uPlot(Object.assign({
    width, height: 220, series: [{}].concat(series),
    scales: { x: { time: true } },
    legend: { live: false },
  }, opts || {}), [[]].concat(series.map(() => [])), el);
  charts[id] = made;
  return made;
}

function line(label, i, extra) {
  return Object.assign({ label, stroke: PALETTE[i % PALETTE.length], width: 1.5,
    spanGaps: true }, extra || {});
}

function trim(array) { while (array.length > KEEP) array.shift(); }

function setup() {
  chart("chart-throughput", [line("records/s", 0)]);
  chart("chart-pending", [line("pending labels", 2)]);
  chart("chart-latency", [
    line("lateness p50", 0), line("lateness p99", 0, { dash: [4, 4] }),
    line("event→Redis p50", 1), line("event→Redis p99", 1, { dash: [4, 4] }),
  ], {
    scales: { x: { time: true }, y: { distr: 3 } },
    axes: [{}, { size: 70, values: (u, ticks) => ticks.map(fmtSeconds) }],
  });
}

function modelScores(data) {
  // Per model: its own scores over every task (one model: the totals).
  const models = data.models || {};
  const names = Object.keys(models);
  if (names.length === 0) return {};
  const out = {};
  for (const name of names) out[name] = models[name].scores || data.total;
  return out;
}

function updateTiles(data) {
  const total = data.total || {};
  const counts = total.counts || {};
  show("v-records", counts.records ?? 0);
  show("v-predictions", counts.predictions ?? 0);
  show("v-learned", counts.learned ?? 0);
  show("v-accuracy", total.accuracy ?? total.mae ?? null);
  show("v-rolling-accuracy", total.rolling_accuracy ?? total.rolling_mae ?? null);
  show("v-roc-auc", total.roc_auc ?? null);
  show("v-log-loss", total.log_loss ?? total.rmse ?? null);
  show("v-baseline", total.baseline_accuracy ?? total.baseline_mae ?? null);
  show("v-pending", counts.pending ?? 0);
  const dead = total.dead_letters || {};
  show("v-dead-letters", Object.values(dead).reduce((a, b) => a + b, 0));
  const late = total.lateness_seconds || {};
  show("v-lateness", [late.p50 ?? null, late.p99 ?? null], `${fmtSeconds(late.p50)} / ${fmtSeconds(late.p99)}`);
  const lat = total.latency_seconds || {};
  show("v-latency", [lat.p50 ?? null, lat.p99 ?? null], `${fmtSeconds(lat.p50)} / ${fmtSeconds(lat.p99)}`);
  const cost = total.cost_per_1000;
  show("v-costs", cost || null, cost ? `${fmt(cost.decision, 1)} / ${fmt(cost.argmax, 1)} / ${fmt(cost.majority, 1)}` : "-");
  const champions = Object.entries(data.models || {})
    .filter(([, m]) => (m.champion_in || []).length).map(([n]) => n);
  show("v-champion", champions, champions.join(", ") || "-");

  const quality = total.quality || {};
  for (const dimension of ["accuracy", "completeness", "consistency", "timeliness"]) {
    const score = ((quality.dimensions || {})[dimension] || {}).score ?? null;
    show(`v-q-${dimension}`, score, score === null ? "-" : `${(100 * score).toFixed(2)}%`);
  }
  const coverage = (quality.labels || {}).coverage ?? null;
  show("v-q-coverage", coverage, coverage === null ? "-" : `${(100 * coverage).toFixed(2)}%`);
  const lag = total.watermark_lag_s ?? null;
  show("v-q-watermark-lag", lag, fmtSeconds(lag));
  const rates = Object.entries(quality.per_minute || {}).sort((a, b) => b[1] - a[1]);
  show("v-q-rates", quality.per_minute || null,
    rates.length ? rates.slice(0, 4).map(([rule, n]) => `${rule.split("/")[1]} ${fmt(n, 1)}`).join(", ") : "none");

  const body = $("dead-letters").tBodies[0];
  body.replaceChildren(...Object.entries(dead).sort().map(([reason, n]) => {
    const row = document.createElement("tr");
    row.dataset.reason = reason;
    row.innerHTML = "<td></td><td></td>";
    row.cells[0].textContent = reason;
    row.cells[1].textContent = fmt(n);
    row.cells[1].dataset.value = n;
    return row;
  }));

  const models = $("models").tBodies[0];
  models.replaceChildren(...Object.entries(data.models || {}).map(([name, m]) => {
    const s = m.scores || total;
    const row = document.createElement("tr");
    row.dataset.model = name;
    const cells = [name, (m.champion_in || []).map((p) => "p" + p).join(",") || "-",
      Object.values(m.versions || {}).join(","), fmt(s.scored ?? 0), fmt(s.accuracy ?? s.mae),
      fmt(s.roc_auc), fmt(s.log_loss ?? s.rmse),
      "", fmt((s.cost_per_1000 || {}).decision, 1)];
    const thresholds = Object.values(data.tasks || {})
      .map((t) => ((t.models || {})[name] || {}).threshold)
      .filter((v) => v !== null && v !== undefined);
    cells[7] = thresholds.length ? thresholds.map((v) => fmt(v, 3)).join(",") : "argmax";
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    return row;
  }));
}

function updateSamples(data) {
  const total = data.total || {};
  const now = Date.now() / 1000;
  const records = (total.counts || {}).records ?? 0;
  // over the last five seconds: the worker writes its counts once a batch, so the
  // difference between two polls a second apart jumps between 0 and a whole batch
  recent.push({ t: now, records });
  while (recent.length > 2 && now - recent[1].t >= RATE_SPAN_S) recent.shift();
  const first = recent[0];
  const rate = now > first.t ? Math.max(0, (records - first.records) / (now - first.t)) : null;
  if (rate !== null) show("v-throughput", rate, fmt(rate, 0));
  const late = total.lateness_seconds || {};
  const lat = total.latency_seconds || {};
  const positive = (v) => (v === null || v === undefined || !Number.isFinite(v) || v <= 0 ? null : v);
  samples.t.push(now);
  samples.throughput.push(rate);
  samples.pending.push((total.counts || {}).pending ?? 0);
  samples.lateness50.push(positive(late.p50));
  samples.lateness99.push(positive(late.p99));
  samples.latency50.push(positive(lat.p50));
  samples.latency99.push(positive(lat.p99));
  const scores = modelScores(data);
  for (const name of Object.keys(scores)) {
    if (!samples.rolling[name]) {
      samples.rolling[name] = samples.t.slice(0, -1).map(() => null);
      samples.auc[name] = samples.t.slice(0, -1).map(() => null);
    }
  }
  for (const name of Object.keys(samples.rolling)) {
    const s = scores[name];
    samples.rolling[name].push(s ? (s.rolling_accuracy ?? s.rolling_mae ?? null) : null);
    samples.auc[name].push(s ? (s.roc_auc ?? null) : null);
  }
  for (const key of ["t", "throughput", "pending", "lateness50", "lateness99", "latency50", "latency99"]) trim(samples[key]);
  for (const name of Object.keys(samples.rolling)) { trim(samples.rolling[name]); trim(samples.auc[name]); }

  charts["chart-throughput"].setData([samples.t, samples.throughput]);
  charts["chart-pending"].setData([samples.t, samples.pending]);
  charts["chart-latency"].setData([samples.t, samples.lateness50, samples.lateness99,
    samples.latency50, samples.latency99]);
  const names = Object.keys(samples.rolling);
  if (!charts["chart-rolling"] || charts["chart-rolling"].series.length !== 2 * names.length + 1) {
    if (charts["chart-rolling"]) charts["chart-rolling"].destroy();
    $("chart-rolling").replaceChildren();
    chart("chart-rolling", names.flatMap((n, i) => [
      line(`${n} rolling accuracy`, i), line(`${n} ROC AUC`, i, { dash: [4, 4] }),
    ]));
  }
  charts["chart-rolling"].setData([samples.t].concat(
    names.flatMap((n) => [samples.rolling[n], samples.auc[n]])));
}

function windowName(seconds) {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds % size === 0) return `${seconds / size} ${unit}`;
  }
  return `${seconds} s`;
}

function updateWindows(series) {
  // The shortest window length with points: accuracy and ROC AUC of each model.
  const byLength = {};
  for (const [name, points] of Object.entries(series || {})) {
    const [length, model] = [name.slice(0, name.indexOf(":")), name.slice(name.indexOf(":") + 1)];
    (byLength[length] = byLength[length] || {})[model] = points;
  }
  const lengths = Object.keys(byLength).sort((a, b) => Number(a) - Number(b));
  if (!lengths.length) { $("window-name").textContent = "(no window closed yet)"; return; }
  const length = lengths[0];
  $("window-name").textContent = `(${windowName(Number(length))} windows)`;
  const models = Object.keys(byLength[length]).sort();
  const starts = [...new Set(models.flatMap((m) => byLength[length][m].map((p) => p.start_s)))].sort((a, b) => a - b);
  const columns = [starts];
  const lines = [];
  models.forEach((model, i) => {
    const at = Object.fromEntries(byLength[length][model].map((p) => [p.start_s, p]));
    columns.push(starts.map((s) => (at[s] ? (at[s].accuracy ?? at[s].mae ?? null) : null)));
    columns.push(starts.map((s) => (at[s] ? (at[s].roc_auc ?? null) : null)));
    lines.push(line(`${model} accuracy`, i), line(`${model} ROC AUC`, i, { dash: [4, 4] }));
  });
  const el = $("chart-windows");
  el.dataset.points = String(starts.length);
  if (!charts["chart-windows"] || charts["chart-windows"].series.length !== lines.length + 1) {
    if (charts["chart-windows"]) charts["chart-windows"].destroy();
    el.replaceChildren();
    chart("chart-windows", lines);
  }
  charts["chart-windows"].setData(columns);
}

function updateAlerts(alerts) {
  const body = $("alerts").tBodies[0];
  body.replaceChildren(...alerts.slice(0, 10).map((a) => {
    const row = document.createElement("tr");
    for (const text of [a.event_time, a.kind, a.subject, a.signal, a.detector, a.action]) {
      const cell = document.createElement("td");
      cell.textContent = text ?? "-";
      row.appendChild(cell);
    }
    return row;
  }));
}

// Learning held back by lateness: the newest timeliness alert of each partition says
// whether it is starved (most observations later than the allowed lateness) or recovered.
function updateLateBanner(alerts) {
  const latest = new Map();
  for (const a of alerts) if (!latest.has(a.partition)) latest.set(a.partition, a);
  const starved = [...latest.values()].filter((a) => a.signal === "starved");
  const banner = $("late-banner");
  banner.hidden = starved.length === 0;
  if (starved.length) {
    const share = Math.round(100 * (starved[0].statistic.late_share ?? 0));
    banner.textContent = `Learning stalled in partition(s) ${starved.map((a) => a.partition).join(", ")}: ` +
      `${share}% of recent observations came later than the allowed lateness ` +
      `(${starved[0].statistic.allowed_lateness_s} s), so their labels are not learned.`;
  }
}

function updateHealth(health) {
  $("namespace").textContent = health.namespace || "";
  const status = $("status");
  status.dataset.status = health.status;
  status.textContent = health.status;
  const kafka = health.kafka || {};
  if (kafka.reachable) show("v-lag", kafka.total_lag);
  else show("v-lag", null, kafka.reachable === false ? "Kafka down" : "-");
}

async function refresh() {
  tick += 1;
  const slow = tick % SLOW_EVERY === 1;
  try {
    const data = await getJSON(slow ? "v1/metrics/model?history=true" : "v1/metrics/model");
    updateTiles(data);
    updateSamples(data);
    if (slow) updateWindows(data.series);
    if (slow) {
      updateAlerts((await getJSON("v1/alerts?count=10")).alerts);
      updateLateBanner((await getJSON("v1/alerts?kind=timeliness&count=50")).alerts);
    }
    $("updated").textContent = new Date().toLocaleTimeString();
    $("updated").dataset.tick = String(tick);
    document.body.dataset.ready = "true";
  } catch (error) {
    const status = $("status");
    status.dataset.status = "error";
    status.textContent = error.status === 503 ? "Redis unavailable" : `error: ${error.message}`;
  }
  if (slow) {
    try {
      updateHealth(await getJSON("health"));
    } catch (error) {
      if (error.body && error.body.status) updateHealth(error.body);
    }
  }
}

async function lookup(event) {
  event.preventDefault();
  const key = $("lookup-key").value.trim();
  const out = $("lookup-result");
  if (!key) { out.textContent = "type a key"; return; }
  try {
    const found = await getJSON("v1/predictions/" + encodeURIComponent(key));
    out.dataset.key = key;
    out.dataset.found = "true";
    out.textContent = JSON.stringify(found, null, 2);
  } catch (error) {
    out.dataset.key = key;
    out.dataset.found = "false";
    out.textContent = error.status === 404 ? `no prediction for ${key}` : `error: ${error.message}`;
  }
}

setup();
$("lookup-form").addEventListener("submit", lookup);
refresh();
setInterval(refresh, REFRESH_MS);
