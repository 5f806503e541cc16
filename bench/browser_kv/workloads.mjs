// The browser_kv workloads, run where this module is loaded: in the page (page.html imports it
// and calls run) or in a dedicated module worker (page.html?ctx=worker starts it as one; it
// runs itself and posts the result). Same code, same order, in both contexts.
//
//   small  N values of 100 bytes: one batched set, then one batched get (a loop where the
//          library has no batch API)
//   big    one Float64Array (64 MB): set, then get, checked against what was written
//   cold   time origin (page navigation / worker start) -> first `get` answered by webstore's
//          JS API, then a bare `loadPyodide` (import + load) in the same context, after it;
//          with ?bare only a bare `loadPyodide` from the time origin (for a fresh browser)
//
// A cell is a number (ms), a string "n/a (reason)" where the engine lacks the API, "failed
// (message)" when the library threw, or absent when the workload does not apply.
import { createStore, get as kvGet, getMany as kvGetMany, set as kvSet, setMany as kvSetMany }
  from "/node_modules/idb-keyval/dist/index.js";

const IN_WORKER = typeof window === "undefined";
const SIZE = 100;

const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
const done = (tx) => new Promise((res, rej) => { tx.oncomplete = res; tx.onabort = () => rej(tx.error); });

async function time(fn) {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

/** Throw unless `got` holds the same N small values (count, first, last bytes). */
function checkSmall(got, values) {
  const n = values.length;
  if (got.length !== n) throw new Error(`read ${got.length} values, wrote ${n}`);
  for (const i of [0, n >> 1, n - 1]) {
    const a = new Uint8Array(got[i]?.buffer ?? got[i] ?? []);
    if (a.length !== SIZE || a[0] !== values[i][0] || a[SIZE - 1] !== values[i][SIZE - 1]) {
      throw new Error(`value ${i} read back differs`);
    }
  }
}

/** Throw unless `got` is a Float64Array equal to `big` (length and 1,000 spread elements). */
function checkBig(got, big) {
  if (!(got instanceof Float64Array)) throw new Error(`read back a ${got?.constructor?.name}`);
  if (got.length !== big.length) throw new Error(`read ${got.length} elements, wrote ${big.length}`);
  const step = Math.max(1, Math.floor(big.length / 1000));
  for (let i = 0; i < big.length; i += step) {
    if (!Object.is(got[i], big[i])) throw new Error(`element ${i} read back differs`);
  }
  if (got[big.length - 1] !== big[big.length - 1]) throw new Error("last element differs");
}

// -- the libraries: each returns {small_set, small_get, big_set, big_get} (ms) ------------

async function openRaw(name) {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => r.result.createObjectStore("kv");
  return req(r);
}

async function rawIndexedDB({ keys, values, big, tag }) {
  const db = await openRaw(`bench-raw-${tag}`);
  const out = {};
  [out.small_set] = await time(async () => {
    const tx = db.transaction("kv", "readwrite");
    const s = tx.objectStore("kv");
    keys.forEach((k, i) => s.put(values[i], k));
    await done(tx);
  });
  let got;
  [out.small_get, got] = await time(async () => {
    const tx = db.transaction("kv", "readonly");
    const s = tx.objectStore("kv");
    const all = await Promise.all(keys.map((k) => req(s.get(k))));
    await done(tx);
    return all;
  });
  checkSmall(got, values);
  [out.big_set] = await time(async () => {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(big, "big");
    await done(tx);
  });
  [out.big_get, got] = await time(async () => {
    const tx = db.transaction("kv", "readonly");
    const value = await req(tx.objectStore("kv").get("big"));
    await done(tx);
    return value;
  });
  checkBig(got, big);
  db.close();
  return out;
}

async function rawOPFS({ big, tag }) {
  if (!navigator.storage?.getDirectory) return { big_set: "n/a (no navigator.storage.getDirectory)", big_get: "n/a (no navigator.storage.getDirectory)" };
  const dir = await navigator.storage.getDirectory();
  const file = await dir.getFileHandle(`bench-${tag}.bin`, { create: true });
  const out = {};
  let got;
  if (IN_WORKER) { // sync access handle: one write + flush, one read (handle open/close included)
    if (!file.createSyncAccessHandle) return { big_set: "n/a (no createSyncAccessHandle)", big_get: "n/a (no createSyncAccessHandle)" };
    [out.big_set] = await time(async () => {
      const h = await file.createSyncAccessHandle();
      h.truncate(0);
      h.write(big, { at: 0 });
      h.flush();
      h.close();
    });
    [out.big_get, got] = await time(async () => {
      const h = await file.createSyncAccessHandle();
      const buffer = new ArrayBuffer(h.getSize());
      h.read(new Uint8Array(buffer), { at: 0 });
      h.close();
      return new Float64Array(buffer);
    });
  } else { // the page has the async file API only
    if (!file.createWritable) return { big_set: "n/a (no createWritable in the page)", big_get: "n/a (no createWritable in the page)" };
    [out.big_set] = await time(async () => {
      const w = await file.createWritable();
      await w.write(big);
      await w.close();
    });
    [out.big_get, got] = await time(async () => new Float64Array(await (await file.getFile()).arrayBuffer()));
  }
  checkBig(got, big);
  await dir.removeEntry(`bench-${tag}.bin`);
  return out;
}

async function idbKeyval({ keys, values, big, tag }) {
  const store = createStore(`bench-idbkeyval-${tag}`, "kv");
  const out = {};
  let got;
  [out.small_set] = await time(() => kvSetMany(keys.map((k, i) => [k, values[i]]), store));
  [out.small_get, got] = await time(() => kvGetMany(keys, store));
  checkSmall(got, values);
  [out.big_set] = await time(() => kvSet("big", big, store));
  [out.big_get, got] = await time(() => kvGet("big", store));
  checkBig(got, big);
  return out;
}

async function loadLocalForage() {
  if (!globalThis.localforage) { // UMD: evaluated globally it sets self.localforage (page and worker)
    const source = await (await fetch("/node_modules/localforage/dist/localforage.js")).text();
    (0, eval)(source);
  }
  return globalThis.localforage;
}

async function localForage({ keys, values, big, tag }) {
  const lf = (await loadLocalForage()).createInstance({ name: `bench-localforage-${tag}` });
  await lf.ready();
  const out = {};
  let got;
  [out.small_set] = await time(async () => { for (let i = 0; i < keys.length; i += 1) await lf.setItem(keys[i], values[i]); });
  [out.small_get, got] = await time(async () => {
    const all = [];
    for (const k of keys) all.push(await lf.getItem(k));
    return all;
  });
  checkSmall(got, values);
  [out.big_set] = await time(() => lf.setItem("big", big));
  [out.big_get, got] = await time(() => lf.getItem("big"));
  checkBig(got, big);
  return out;
}

/** webstore's JS API (`options.worker`: the engine in webstore's own worker). */
async function webstoreJS({ keys, values, big, tag }, options = {}) {
  const { open } = await import("/wasm/js/index.js");
  const out = {};
  let store;
  [out.open, store] = await time(() => open(`bench-js-${tag}`, { backend: "indexeddb", path: `bench-js-${tag}`, ...options }));
  let got;
  [out.small_set] = await time(() => store.setMany(keys.map((k, i) => [k, values[i]])));
  [out.small_get, got] = await time(() => store.getMany(keys));
  checkSmall(got, values);
  [out.big_set] = await time(() => store.set("big", big));
  [out.big_get, got] = await time(() => store.get("big"));
  checkBig(got, big);
  await store.delete("big");
  await store.close();
  return out;
}

const python = (n) => `
import webstore
N, SIZE = ${n}, ${SIZE}
keys = [f"key-{i:05d}" for i in range(N)]
items = {k: bytes([i % 251]) * SIZE for i, k in enumerate(keys)}
store = got = None
async def ws_open(path):
    global store
    store = await webstore.open(path, backend="indexeddb", path=path)
async def ws_set_many():
    await store.set_many(items)
async def ws_get_many():
    global got
    got = await store.get_many(keys)
def ws_check():
    assert len(got) == N and all(got[i] == items[keys[i]] for i in (0, N // 2, N - 1)), "get_many"
async def ws_set(value):
    await store.set("big", value)
async def ws_get():
    return await store.get("big")
async def ws_close():
    await store.delete("big")
    await store.close()
`;

/** webstore's Python API in the JS API's Pyodide: `await store.set_many(...)` etc. */
async function webstorePython({ keys, big, tag }) {
  const { runtime } = await import("/wasm/js/index.js");
  const { pyodide } = await runtime();
  pyodide.runPython(python(keys.length));
  const py = (name) => pyodide.globals.get(name);
  const out = {};
  let got;
  [out.open] = await time(() => py("ws_open")(`bench-py-${tag}`));
  [out.small_set] = await time(() => py("ws_set_many")());
  [out.small_get] = await time(() => py("ws_get_many")());
  py("ws_check")();
  pyodide.runPython("got = None");
  [out.big_set] = await time(() => py("ws_set")(big));
  [out.big_get, got] = await time(() => py("ws_get")());
  checkBig(got, big);
  await py("ws_close")();
  return out;
}

async function loadBarePyodide() {
  const { loadPyodide } = await import("/node_modules/pyodide/pyodide.mjs");
  await loadPyodide({ indexURL: new URL("/node_modules/pyodide/", location.href).href });
}

/** First `get` answered by webstore since the time origin, then a bare `loadPyodide`. */
async function coldStart(tag) {
  const { open } = await import("/wasm/js/index.js");
  const store = await open(`bench-cold-${tag}`, { backend: "indexeddb", path: `bench-cold-${tag}` });
  await store.get("missing");
  const first_get = performance.now();
  await store.close();
  const [bare_loadPyodide] = await time(loadBarePyodide);
  return { first_get, bare_loadPyodide };
}

async function attempt(fn) {
  try { return await fn(); } catch (e) {
    const why = `failed (${String(e?.message ?? e).split("\n")[0].slice(0, 160)})`;
    return { small_set: why, small_get: why, big_set: why, big_get: why };
  }
}

/**
 * Every workload in this context; `n` small values and a `mb` MB Float64Array. With `bare`,
 * only a bare `loadPyodide` from the time origin (run.py loads that in a fresh browser too).
 */
export async function run({ n = 10000, mb = 64, bare = false } = {}) {
  const tag = IN_WORKER ? "worker" : "page";
  if (bare) {
    await loadBarePyodide();
    return { context: tag, bare_cold: performance.now() };
  }
  const result = { context: tag, n, mb, userAgent: navigator.userAgent, rows: {} };
  try { result.cold = await coldStart(tag); } catch (e) { result.cold = { error: String(e?.message ?? e) }; }
  const keys = Array.from({ length: n }, (_, i) => `key-${String(i).padStart(5, "0")}`);
  const values = keys.map((_, i) => new Uint8Array(SIZE).fill(i % 251));
  const big = new Float64Array((mb * 1024 * 1024) / 8);
  for (let i = 0; i < big.length; i += 1) big[i] = i * 1.000001;
  const data = { keys, values, big, tag };
  const rows = [
    ["raw IndexedDB", rawIndexedDB], ["raw OPFS", rawOPFS], ["idb-keyval", idbKeyval],
    ["localForage", localForage], ["webstore JS API", webstoreJS], ["webstore Python", webstorePython],
  ];
  if (!IN_WORKER) rows.push(["webstore JS {worker: true}", (d) => webstoreJS(d, { worker: true })]);
  for (const [name, fn] of rows) result.rows[name] = await attempt(() => fn(data));
  return result;
}

if (IN_WORKER) {
  const params = new URL(self.location.href).searchParams;
  run({ n: Number(params.get("n") ?? 10000), mb: Number(params.get("mb") ?? 64),
    bare: params.has("bare") })
    .then((value) => postMessage({ value }), (e) => postMessage({ error: String(e?.stack ?? e) }));
}
