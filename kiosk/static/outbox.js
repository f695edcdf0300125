// Kaiku kiosk outbox: every answer is written to IndexedDB at the tap and
// leaves only when the server confirms it (stored or duplicate).
//
// Follow-up scheme (why one answer is sent exactly once, with its final content):
// the answer is queued at the rating tap, and its id is *held* while the same
// client may still add reasons or a comment. The sender skips a held item.
// Finishing, skipping or timing out the follow-up rewrites the item (same id)
// and releases it. The hold lives only in memory, so after a reload or crash
// the item is sent as it stands (the rating alone). Because an item is never
// sent before its content is final, the server never sees one id with two
// bodies, and no separate "follow-up" message or merge is needed.

const DB_NAME = "kaiku";
const STORE = "outbox";
const MAX_BATCH = 500;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 60000;
const PERIODIC_MS = 30000;
const TIMEOUT_MS = 15000;

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// Falls back to memory only where IndexedDB is unavailable (the page still works).
class MemoryStore {
  constructor() { this.items = new Map(); }
  async put(item) { this.items.set(item.id, item); }
  async remove(ids) { ids.forEach((id) => this.items.delete(id)); }
  async list(limit) { return [...this.items.values()].slice(0, limit); }
  async count() { return this.items.size; }
}

class IdbStore {
  constructor(db) { this.db = db; }
  run(mode, work) {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  }
  put(item) { return this.run("readwrite", (s) => s.put(item)); }
  remove(ids) {
    return this.run("readwrite", (s) => { ids.forEach((id) => s.delete(id)); return {}; });
  }
  list(limit) { return this.run("readonly", (s) => s.getAll(null, limit)); }
  count() { return this.run("readonly", (s) => s.count()); }
}

export function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export class Outbox {
  // options: {url, getKey() -> key|null, onRevoked(), onChange(pending)}
  constructor(options) {
    this.o = options;
    this.store = null;
    this.held = null;
    this.busy = false;
    this.again = false;
    this.attempt = 0;
    this.retryAt = 0;
    this.timer = null;
    this.stopped = false;
    this.rejected = Number(localStorage.getItem("kaiku.rejected") || 0);
  }

  async open() {
    try { this.store = new IdbStore(await openDb()); } catch (e) { this.store = new MemoryStore(); }
    addEventListener("online", () => this.flush(true));
    setInterval(() => this.flush(false), PERIODIC_MS);
    return this;
  }

  async put(item) { await this.store.put(item); this.changed(); }
  hold(id) { this.held = id; }
  release() { this.held = null; this.flush(true); }
  count() { return this.store.count(); }
  async changed() { if (this.o.onChange) this.o.onChange(await this.count()); }

  resume() { this.stopped = false; this.flush(true); }

  schedule(ms) {
    clearTimeout(this.timer);
    this.retryAt = Date.now() + ms;
    this.timer = setTimeout(() => this.flush(true), ms);
  }

  backoff() {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    this.attempt += 1;
    this.schedule(ceiling / 2 + Math.random() * (ceiling / 2)); // "equal jitter"
  }

  // now=true ignores a pending backoff (new answer, back online, release).
  // One asked for "now" while a send is in flight (say, back online while a send made
  // offline is failing) runs when that send ends, instead of waiting out its backoff.
  async flush(now) {
    if (this.busy && now) this.again = true;
    if (this.busy || this.stopped || !this.store) return;
    if (!now && Date.now() < this.retryAt) return;
    const key = this.o.getKey();
    if (!key) return;
    this.busy = true;
    let more = false;
    try {
      const items = (await this.store.list(MAX_BATCH + 1)).filter((i) => i.id !== this.held);
      if (!items.length) return;
      more = items.length > MAX_BATCH;
      const outcome = await this.send(items.slice(0, MAX_BATCH), key);
      if (outcome === "retry") { more = false; this.backoff(); return; }
      this.attempt = 0;
      this.retryAt = 0;
      if (outcome === "revoked") { this.stopped = true; more = false; this.o.onRevoked(); }
    } catch (e) {
      more = false;
      this.backoff();
    } finally {
      this.busy = false;
      this.changed();
      if (this.again) { this.again = false; more = true; }
      if (more) this.flush(true); // in finally: the early returns above pass through here
    }
  }

  async post(items, key) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      return await fetch(this.o.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
        body: JSON.stringify({ items }),
        cache: "no-store",
        signal: ctl.signal,
      });
    } finally { clearTimeout(t); }
  }

  async send(items, key) {
    const res = await this.post(items, key);
    if (res.status === 401 || res.status === 403) return "revoked";
    if (res.status === 200) {
      const { results } = await res.json();
      const done = results.filter((r) => r.status !== "rejected" || this.reject(r));
      await this.store.remove(done.map((r) => r.id));
      return "ok";
    }
    // A whole-batch 400/409/413/422 means some item cannot be read: send one by one
    // to find it; a single item refused that way is permanently invalid.
    if ([400, 409, 413, 422].includes(res.status)) {
      if (items.length > 1) {
        for (const item of items) {
          const one = await this.send([item], key);
          if (one !== "ok") return one;
        }
        return "ok";
      }
      this.reject({ id: items[0].id, reason: `HTTP ${res.status}` });
      await this.store.remove([items[0].id]);
      return "ok";
    }
    return "retry"; // 408, 429, 5xx and anything unexpected: try again later
  }

  reject(result) {
    this.rejected += 1;
    localStorage.setItem("kaiku.rejected", String(this.rejected));
    console.warn("kaiku: answer rejected by server", result.id, result.reason, "total", this.rejected);
    return true;
  }
}
