// smslab console. Reads the lab through the control API, follows GET /_smslab/events, and acts through the
// same API routes a script would use. Everything that came from a message (texts, numbers, headers, bodies)
// goes on the page as text nodes (append / textContent), never as HTML.
"use strict";

const API = "/_smslab";
const KEEP = 500; // messages kept on the page, newest first
const state = { health: null, brokers: [], messages: [], seen: new Set(), interactions: new Map(),
                timeline: [], detail: null };

const $ = (id) => document.getElementById(id);

// A new element; children that are not nodes become text nodes.
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function fill(tbody, rows) { tbody.replaceChildren(...rows); }
function notice(text) { $("notice").textContent = text; }
function clock(epoch) { return epoch ? new Date(epoch * 1000).toISOString().slice(11, 23) : ""; }

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  const resp = await fetch(API + path, init);
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${data.error || ""}`);
  return data;
}

// Runs an action, showing what it did or why it failed.
async function act(what, action) {
  notice(`${what}...`);
  try { await action(); notice(`${what}: done`); } catch (err) { notice(`${what}: ${err.message}`); }
}

// -- reading the lab -----------------------------------------------------------------------------------

async function loadHealth() { state.health = await api("GET", "/health"); renderSwitchover(); }

async function loadMessages() {
  for (const broker of state.brokers) {
    let after = 0;
    for (let page = 0; page < 10; page++) { // the capture is a bounded ring; the page keeps the newest
      const data = await api("GET", `/brokers/${encodeURIComponent(broker.name)}/messages?limit=1000&after=${after}`);
      data.messages.forEach(addMessage);
      if (data.next === null) break;
      after = data.next;
    }
  }
  renderMessages();
}

async function loadInteractions() {
  let cursor = "";
  for (let page = 0; page < 5; page++) {
    const query = cursor ? `?limit=200&cursor=${encodeURIComponent(cursor)}` : "?limit=200";
    let data;
    try { data = await api("GET", "/interactions" + query); } catch (err) { notice(err.message); return; }
    data.interactions.forEach((i) => state.interactions.set(i.id, i));
    if (data.next === null) break;
    cursor = data.next;
  }
  renderInteractions();
}

async function loadAll() {
  state.messages = []; state.seen.clear(); state.interactions.clear();
  state.brokers = (await api("GET", "/brokers")).brokers;
  fillBrokers();
  state.timeline = (await api("GET", "/timeline")).timeline.slice(-200);
  renderTimeline();
  await Promise.all([loadHealth(), loadMessages(), loadInteractions()]);
}

let healthTimer = null;
function refreshHealthSoon() { clearTimeout(healthTimer); healthTimer = setTimeout(() => loadHealth().catch(() => {}), 150); }

function addMessage(record) {
  const key = `${record.broker}:${record.seq}`;
  if (state.seen.has(key)) return;
  state.seen.add(key);
  state.messages.push(record);
  state.messages.sort((a, b) => b.at - a.at);
  for (const gone of state.messages.splice(KEEP)) state.seen.delete(`${gone.broker}:${gone.seq}`);
}

// -- drawing -------------------------------------------------------------------------------------------

function fillBrokers() {
  const names = state.brokers.map((b) => b.name);
  $("mo-form").elements.broker.replaceChildren(...names.map((n) => el("option", {}, n)));
  $("f-broker").replaceChildren(el("option", { value: "" }, "all"), ...names.map((n) => el("option", {}, n)));
}

function renderSwitchover() {
  const health = state.health;
  if (!health) return;
  fill($("nodes").tBodies[0], Object.entries(health.nodes).map(([name, node]) => {
    const role = health.switchover.roles?.[name] || node.role;
    return el("tr", {},
      el("td", {}, name), el("td", { id: `role-${name}`, class: `role-${role}` }, role),
      el("td", { id: `fault-${name}` }, (health.switchover.faults || {})[name] || node.fault || "none"),
      el("td", {},
        el("button", { type: "button", id: `fail-${name}`, onclick: () => act(`fail ${name}`,
          () => api("POST", `/nodes/${name}/fail`, { mode: $("fail-mode").value }).then(loadHealth)) }, "Fail"),
        " ",
        el("button", { type: "button", id: `restore-${name}`, onclick: () => act(`restore ${name}`,
          () => api("POST", `/nodes/${name}/restore`).then(loadHealth)) }, "Restore")));
  }));
  fill($("farm").tBodies[0], health.farm.flatMap((farm) => (farm.members || []).map((m) => el("tr", {},
    el("td", {}, farm.incoming_port), el("td", {}, m.member),
    el("td", { class: m.healthy ? "healthy" : "unhealthy" }, m.healthy ? "healthy" : "unhealthy"),
    el("td", {}, `${clock(m.last_probe?.at)} ${m.last_probe?.status ?? "-"} ${m.last_probe?.verdict ?? ""}`)))));
}

function renderTimeline() {
  const items = state.timeline.slice().reverse().map((entry) => {
    const { at, t, event, roles, ...rest } = entry;
    const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
    return el("li", {}, `${clock(at)} +${Number(t).toFixed(3)}s ${event} ${fields.join(" ")}`);
  });
  $("timeline").replaceChildren(...items);
}

function matches(record) {
  const broker = $("f-broker").value, kind = $("f-kind").value;
  const number = $("f-number").value.trim(), text = $("f-text").value.trim().toLowerCase();
  return (!broker || record.broker === broker) && (!kind || record.kind === kind)
    && (!number || record.from.includes(number) || record.to.includes(number))
    && (!text || record.text.toLowerCase().includes(text));
}

function renderMessages() {
  fill($("message-list").tBodies[0], state.messages.filter(matches).map((r) => {
    const row = el("tr", { class: state.detail === `${r.broker}:${r.seq}` ? "selected" : "",
                           onclick: () => showDetail(r) },
      el("td", {}, clock(r.at)), el("td", {}, r.broker), el("td", {}, r.kind), el("td", {}, r.from),
      el("td", {}, r.to), el("td", { class: "text" }, r.text), el("td", {}, r.state || r.status));
    row.dataset.kind = r.kind;
    return row;
  }));
}

function renderInteractions() {
  const rows = [...state.interactions.values()].sort((a, b) => b.updated_at - a.updated_at).map((i) => el("tr", {},
    el("td", {}, i.id), el("td", {}, i.customer), el("td", {}, i.broker),
    el("td", {}, `${i.destination?.kind || ""} ${i.destination?.name || ""}`), el("td", {}, i.state),
    el("td", {}, (i.deliveries || []).map((d) => d.state).join(", ")),
    el("td", { class: "text" }, i.transcript.map((e) => `${e.direction}: ${e.text}`).join("\n"))));
  fill($("interaction-list").tBodies[0], rows);
}

// The exact request and answer (an MT), or the push and its attempts (an MO, a DLR), as plain text.
function wireText(record) {
  const wire = record.wire || {};
  const headers = (list) => (list || []).map(([k, v]) => `${k}: ${v}`).join("\n");
  const lines = [`${record.kind.toUpperCase()} ${record.message_id} (${record.broker}, record ${record.seq})`, ""];
  const req = wire.request;
  if (!req) lines.push("(the fake's wire log no longer holds this request)");
  else lines.push(`${req.method} ${req.path || req.url}`, headers(req.headers), "", req.body, "");
  if (wire.answer) lines.push(`answer ${wire.answer.status}`, headers(wire.answer.headers), "", wire.answer.body);
  for (const a of wire.attempts || []) {
    lines.push(`attempt ${a.attempt} at ${clock(a.at)}: ${a.status ?? "-"} ${a.outcome} ${a.error}`);
  }
  lines.push("", "fields: " + JSON.stringify(record.fields, null, 2));
  return lines.join("\n");
}

async function showDetail(record) {
  state.detail = `${record.broker}:${record.seq}`;
  renderMessages();
  try {
    const full = await api("GET", `/brokers/${encodeURIComponent(record.broker)}/messages/${record.seq}`);
    $("detail-text").textContent = wireText(full);
  } catch (err) { $("detail-text").textContent = err.message; }
  $("detail").hidden = false;
}

// -- the live stream -----------------------------------------------------------------------------------

function follow() {
  const source = new EventSource(API + "/events");
  const badge = $("stream");
  source.onopen = () => { badge.textContent = "live"; badge.className = "badge live"; };
  source.onerror = () => { badge.textContent = "reconnecting"; badge.className = "badge down"; };
  const on = (kind, handle) => source.addEventListener(kind, (e) => handle(JSON.parse(e.data)));
  on("message", (record) => { addMessage(record); renderMessages(); });
  on("interaction", (record) => { state.interactions.set(record.id, record); renderInteractions(); });
  on("timeline", (entry) => {
    state.timeline.push(entry); state.timeline.splice(0, state.timeline.length - 200); renderTimeline();
    if (state.health && entry.roles) { state.health.switchover.roles = entry.roles; renderSwitchover(); }
    refreshHealthSoon();
  });
  on("farm", refreshHealthSoon);
  on("push", (attempt) => {
    const open = state.messages.find((r) => `${r.broker}:${r.seq}` === state.detail);
    if (open && open.message_id === attempt.message_id) showDetail(open);
  });
  on("control", () => loadAll().catch((err) => notice(err.message)));
  on("lagged", () => loadAll().catch((err) => notice(err.message)));
}

// -- controls ------------------------------------------------------------------------------------------

function formData(form) {
  return Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ""));
}

// After an action, read again what it changed (in --processes mode the stream carries no messages).
function rereadSoon() { setTimeout(() => { loadMessages().catch(() => {}); loadInteractions(); }, 1000); }

function wire() {
  $("do-switchover").onclick = () => act("switchover", () => api("POST", "/switchover").then(loadHealth));
  $("do-reset").onclick = () => act("reset", () => api("POST", "/reset").then(loadAll));
  $("mo-form").onsubmit = (e) => {
    e.preventDefault();
    const { broker, ...mo } = formData(e.target);
    act(`MO on ${broker}`, () => api("POST", `/brokers/${encodeURIComponent(broker)}/mo`, mo).then(rereadSoon));
  };
  $("mt-form").onsubmit = (e) => {
    e.preventDefault();
    act("send", () => api("POST", "/send", formData(e.target)).then(rereadSoon));
  };
  for (const id of ["f-broker", "f-kind", "f-number", "f-text"]) $(id).oninput = renderMessages;
}

async function start() {
  wire();
  const doc = await fetch(API + "/openapi.json").then((r) => r.json());
  const modes = doc.paths["/_smslab/nodes/{name}/fail"].post.requestBody.content["application/json"]
    .schema.properties.mode.enum;
  $("fail-mode").replaceChildren(...modes.map((m) => el("option", {}, m)));
  follow();
  await loadAll();
}

start().catch((err) => notice(err.message));
