// Kaiku kiosk service worker (served at /k/sw.js, scope /k/).
// Pages: network first (short timeout), falling back to the cached copy so a
// tablet that reloads or reboots offline still shows the question.
// Static assets: cache first, refreshed in the background.
// API calls are never touched: the outbox handles those.
const VERSION = new URL(self.location).searchParams.get("v") || "dev";
const CACHE = `kaiku-${VERSION}`;
const SHELL = ["/static/kiosk.css", "/static/kiosk.js", "/static/outbox.js"];
const PAGE_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("kaiku-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function pageKey(url) {
  const clean = new URL(url);
  clean.searchParams.delete("pair"); // one-time codes never go into the cache
  return clean.href;
}

async function page(request) {
  const cache = await caches.open(CACHE);
  const key = pageKey(request.url);
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), PAGE_TIMEOUT_MS)),
    ]);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = (await cache.match(key)) || (await cache.match(key, { ignoreSearch: true }));
    if (cached) return cached;
    throw error;
  }
}

async function asset(event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(event.request);
  const fresh = fetch(event.request).then((response) => {
    if (response.ok) cache.put(event.request, response.clone());
    return response;
  });
  if (cached) {
    event.waitUntil(fresh.catch(() => undefined));
    return cached;
  }
  return fresh;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && url.pathname.startsWith("/k/")) event.respondWith(page(event.request));
  else if (url.pathname.startsWith("/static/")) event.respondWith(asset(event));
});
