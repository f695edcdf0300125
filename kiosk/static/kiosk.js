// Kaiku waiting-room kiosk: screen flow, enrolment, inactivity, read-aloud,
// heartbeat. Answers go to the IndexedDB outbox (outbox.js) at the tap, so
// the thank-you never waits for the network.
import { Outbox, uuid4 } from "./outbox.js";

const cfg = JSON.parse(document.getElementById("kiosk-config").textContent);
const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => [...document.querySelectorAll(sel)];
const KEY = `kaiku.key.${cfg.kiosk}`;
const REVOKED = `kaiku.revoked.${cfg.kiosk}`;
const several = cfg.services.length > 1;
const startId = several ? "screen-service" : `screen-${(cfg.services[0] || {}).scale}`;
const state = { screen: null, service: null, item: null, last: Date.now(), deadline: 0, thanks: 0 };
const outbox = new Outbox({
  url: cfg.api.batch,
  getKey: () => (localStorage.getItem(REVOKED) ? null : localStorage.getItem(KEY)),
  onRevoked: revoked,
  onChange: (n) => { document.documentElement.dataset.pending = String(n); },
});
const ready = outbox.open();

function show(id, focus = true) {
  for (const s of $$(".screen")) s.hidden = s.id !== id;
  state.screen = id;
  document.body.dataset.screen = id;
  if ("speechSynthesis" in window) speechSynthesis.cancel();
  if (focus) $(`#${id} h1`).focus();
}

function choose(index, focus = true) {
  const service = cfg.services[index];
  state.service = index;
  for (const el of $$('[data-slot="service"]')) el.textContent = service.name;
  show(`screen-${service.scale}`, focus);
}

function goStart(focus = true) {
  clearTimeout(state.thanks);
  state.service = null;
  $("#follow-form").reset();
  if (cfg.lang !== cfg.default_language) { location.replace(cfg.home); return; }
  if (several) show("screen-service", focus); else choose(0, focus);
}

function rate(rating) {
  const s = cfg.services[state.service];
  const item = {
    id: uuid4(), path: s.path, step: s.step, rating, reasons: [], comment: null,
    language: cfg.lang, answered_at: new Date().toISOString(),
  };
  const follow = s.reasons.length > 0 || s.comments;
  ready.then((o) => {
    if (follow) o.hold(item.id); // see outbox.js: held until the follow-up ends
    return o.put(item);
  }).then(() => follow || outbox.flush(true));
  if (!follow) { thanks(); return; }
  state.item = item;
  for (const label of $$("label.reason")) label.hidden = !s.reasons.includes(label.dataset.reason);
  $("fieldset.reasons").hidden = s.reasons.length === 0;
  $('[data-slot="comment"]').hidden = !s.comments;
  show("screen-follow");
}

async function finishFollow(send) {
  const item = state.item;
  state.item = null;
  if (!item) return;
  if (send) {
    item.reasons = $$('input[name="reason"]:checked').filter((i) => !i.closest("[hidden]")).map((i) => i.value);
    const comment = $("#comment").value.trim().slice(0, 500);
    item.comment = comment && !$('[data-slot="comment"]').hidden ? comment : null;
  }
  const o = await ready;
  try { if (send) await o.put(item); } finally { o.release(); }
}

function thanks() {
  show("screen-thanks");
  const live = $("#live");
  live.textContent = "";
  setTimeout(() => { live.textContent = cfg.texts.thanks; }, 100);
  state.thanks = setTimeout(() => goStart(), cfg.thank_you_seconds * 1000);
}

// Inactivity (WCAG 2.2.1): warn with a countdown and a Continue button, then
// return to the start; a given rating is already in the outbox and is kept.
function idleMatters() {
  if (["screen-thanks", "screen-enrol", "screen-out"].includes(state.screen)) return false;
  return !(state.screen === startId && cfg.lang === cfg.default_language);
}

function tick() {
  const dialog = $("#idle");
  const now = Date.now();
  if (dialog.open) {
    const left = Math.max(0, Math.ceil((state.deadline - now) / 1000));
    $("#idle-count").textContent = String(left);
    if (left === 0) { dialog.close(); finishFollow(false); goStart(); }
  } else if (idleMatters() && now - state.last >= cfg.inactivity_seconds * 1000) {
    state.deadline = now + cfg.warning_seconds * 1000;
    $("#idle-count").textContent = String(cfg.warning_seconds);
    dialog.showModal();
  }
}

function keepGoing() {
  state.last = Date.now();
  if ($("#idle").open) $("#idle").close();
}

// Enrolment: the device key comes from a one-time pairing code, never typed.
async function pair(code) {
  let res;
  try {
    res = await fetch(cfg.api.pair, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code }), cache: "no-store",
    });
  } catch (e) { return cfg.texts.pair_offline; }
  if (res.status >= 500) return cfg.texts.pair_offline;
  if (!res.ok) return cfg.texts.pair_rejected;
  const body = await res.json();
  localStorage.setItem(KEY, body.device_key);
  localStorage.removeItem(REVOKED);
  return null;
}

function showEnrol(error = "", code = "") {
  $("#pair-code").value = code;
  $("#pair-error").textContent = error;
  show("screen-enrol");
  if (error) $("#pair-code").focus();
}

async function enrolled() {
  (await ready).resume();
  heartbeat();
  cacheShell();
  goStart();
}

function revoked() {
  localStorage.setItem(REVOKED, "1");
  if ($("#idle").open) $("#idle").close();
  show("screen-out");
}

async function heartbeat() {
  const key = outbox.o.getKey();
  if (!key) return;
  try {
    const res = await fetch(cfg.api.heartbeat, {
      method: "POST", cache: "no-store",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
      body: JSON.stringify({ outbox_pending: await (await ready).count(), app_version: cfg.version }),
    });
    if (res.status === 401) revoked();
  } catch (e) { /* offline: the next beat tries again */ }
}

// Read aloud the visible question and choices in the page's language, only
// where the browser has a voice for it.
function setUpListen() {
  if (!("speechSynthesis" in window)) return;
  const button = $("#listen");
  const base = cfg.speech_lang.split("-")[0];
  const voice = () => speechSynthesis.getVoices().find((v) => v.lang.replace("_", "-").split("-")[0] === base);
  const update = () => { button.hidden = !voice(); };
  speechSynthesis.addEventListener("voiceschanged", update);
  update();
  button.addEventListener("click", () => {
    const screen = $(`#${state.screen}`);
    const parts = [screen.querySelector("h1"), ...screen.querySelectorAll(".answer, label.reason:not([hidden])")]
      .map((el) => el.textContent.trim()).filter(Boolean);
    speechSynthesis.cancel();
    const u = new SpeechSynthesisUtterance(parts.join(". "));
    u.lang = cfg.speech_lang;
    u.voice = voice() || null;
    speechSynthesis.speak(u);
  });
}

// Offline shell: the service worker caches assets; the page itself is cached
// under its clean URL once the worker is ready (data-offline-ready marks it).
function cacheShell() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(`${cfg.service_worker}?v=${encodeURIComponent(cfg.version)}`, { scope: "/k/" })
    .then(() => navigator.serviceWorker.ready)
    .then(() => caches.open(`kaiku-${cfg.version}`))
    .then((cache) => cache.add(location.pathname + location.search))
    .then(() => { document.documentElement.dataset.offlineReady = "1"; })
    .catch(() => {});
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const { rating, service, action } = button.dataset;
  if (rating !== undefined) rate(rating);
  else if (service !== undefined) choose(Number(service));
  else if (action === "back") goStart();
  else if (action === "skip") { finishFollow(false); thanks(); }
  else if (action === "continue") keepGoing();
  else if (action === "enrol") showEnrol();
});
$("#follow-form").addEventListener("submit", (event) => {
  event.preventDefault();
  finishFollow(true);
  thanks();
});
$("#enrol-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("#pair-code").value.trim();
  const error = code ? await pair(code) : cfg.texts.pair_rejected;
  if (error) showEnrol(error, code); else enrolled();
});
$("#idle").addEventListener("cancel", (event) => { event.preventDefault(); keepGoing(); });
for (const type of ["pointerdown", "keydown", "input"]) {
  document.addEventListener(type, () => { if (!$("#idle").open) state.last = Date.now(); }, true);
}
for (const link of $$(".langs a")) {
  link.addEventListener("click", () => {
    if (state.service !== null && state.screen !== "screen-follow") {
      sessionStorage.setItem("kaiku.resume", JSON.stringify({ service: state.service, at: Date.now() }));
    }
  });
}

async function boot() {
  setUpListen();
  setInterval(tick, 1000);
  setInterval(heartbeat, cfg.heartbeat_seconds * 1000);
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  const params = new URLSearchParams(location.search);
  const code = params.get("pair");
  if (code) {
    params.delete("pair");
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? `?${query}` : ""));
    const error = await pair(code);
    if (error) { showEnrol(error, code); return; }
  }
  if (!localStorage.getItem(KEY)) { showEnrol(); return; }
  if (localStorage.getItem(REVOKED)) { show("screen-out", false); return; }
  (await ready).flush(true);
  heartbeat();
  cacheShell();
  const resume = JSON.parse(sessionStorage.getItem("kaiku.resume") || "null");
  sessionStorage.removeItem("kaiku.resume");
  if (resume && Date.now() - resume.at < 60000 && cfg.services[resume.service]) choose(resume.service, false);
  else if (several) show("screen-service", false);
  else choose(0, false);
}

// data-booted marks the end of start-up (pairing, first flush, first screen), so that
// nothing mistakes the server-rendered first screen for a kiosk ready to answer.
boot().finally(() => { document.documentElement.dataset.booted = "1"; });
