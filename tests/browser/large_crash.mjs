// Page side of test_reliability_large.py: a writer of large Float64Arrays through the JS API
// (wasm/js/index.js), killed at random points by the host, and the check that runs after each
// restart. Every value is a function of its sequence number, so a reader knows exactly which
// write a key holds and whether it is whole. Every function returns plain JSON-able data.
import * as ws from "/wasm/js/index.js";

export const NAME = "large";
export const KEYS = ["big/a", "big/b", "big/c"];
const STEP = 2 ** 21; // more than the elements of any value: seq * STEP + i is exact
const MIN = (1 << 20) / 8; // elements: 1 MiB ..
const MAX = (8 << 20) / 8; // .. 8 MiB

const mix = (seq, salt) => Math.imul((seq ^ salt) >>> 0, 2654435761) >>> 0;
/** The key written by write number `seq`. */
export const keyOf = (seq) => KEYS[mix(seq, 0x5bd1e995) % KEYS.length];
/** The number of elements of write number `seq` (1 to 8 MiB of data). */
export const lengthOf = (seq) => MIN + (mix(seq, 0x27d4eb2f) % (MAX - MIN + 1));

/** The value of write number `seq`: element i is seq * 2**21 + i. */
export function valueOf(seq) {
  const value = new Float64Array(lengthOf(seq));
  const base = seq * STEP;
  for (let i = 0; i < value.length; i += 1) value[i] = base + i;
  return value;
}

/** Which write `value` (read from `key`) is: {seq}, or {torn: why} when it is none whole. */
function identify(key, value) {
  if (!(value instanceof Float64Array)) {
    return { torn: `not a Float64Array: ${Object.prototype.toString.call(value)}` };
  }
  if (value.length === 0) return { torn: "empty" };
  const seq = Math.floor(value[0] / STEP);
  if (!Number.isSafeInteger(seq) || seq < 0 || value[0] !== seq * STEP) {
    return { torn: `first element ${value[0]} starts no write` };
  }
  if (keyOf(seq) !== key) return { torn: `write ${seq} went to ${keyOf(seq)}, not ${key}` };
  if (value.length !== lengthOf(seq)) {
    return { torn: `write ${seq} has ${lengthOf(seq)} elements, read ${value.length}` };
  }
  const base = seq * STEP;
  for (let i = 0; i < value.length; i += 1) {
    if (value[i] !== base + i) return { torn: `write ${seq}: element ${i} is ${value[i]}` };
  }
  return { seq };
}

const errorOf = (e) => `${e?.name}: ${e?.message ?? e}`;

/**
 * Set `valueOf(seq)` under `keyOf(seq)` for seq = start, start + 1, ... forever; after each
 * `set` resolves (the write is durable), push [key, seq, bytes] to `window.reported` before the next.
 */
export async function writer(database, start) {
  const store = await ws.open(NAME, { backend: "indexeddb", path: database });
  window.largeValues = store.largeValues;
  for (let seq = start; ; seq += 1) {
    const key = keyOf(seq);
    const value = valueOf(seq);
    await store.set(key, value);
    window.reported.push([key, seq, value.byteLength]);
  }
}

function openRaw(database) {
  return new Promise((ok, fail) => {
    const req = indexedDB.open(database); // at its version: never an upgrade of the store's
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
}

// {key: {file, size} | "in record" | "layout 1" | "other"} of every raw record.
async function records(database) {
  const db = await openRaw(database);
  try {
    if (!db.objectStoreNames.contains("kv")) return {}; // killed before the writer opened it
    const tx = db.transaction("kv", "readonly");
    const store = tx.objectStore("kv");
    const [keys, values] = await new Promise((ok, fail) => {
      const keysReq = store.getAllKeys();
      const valuesReq = store.getAll();
      valuesReq.onsuccess = () => ok([keysReq.result, valuesReq.result]);
      tx.onerror = () => fail(tx.error);
    });
    return Object.fromEntries(keys.map((k, i) => {
      const v = values[i];
      const what = v instanceof Uint8Array ? "layout 1"
        : v?.webstore === 2 && typeof v.file === "string" ? { file: v.file, size: v.size }
          : v?.webstore === 2 && v.data instanceof ArrayBuffer ? "in record" : "other";
      return [k, what];
    }));
  } finally {
    db.close();
  }
}

// {name: size} of the files in the database's OPFS folder ({} when it has none).
async function files(database) {
  if (typeof navigator.storage?.getDirectory !== "function") return {};
  const root = await navigator.storage.getDirectory();
  let dir;
  try {
    dir = await (await root.getDirectoryHandle("webstore"))
      .getDirectoryHandle(encodeURIComponent(database));
  } catch (error) {
    if (error?.name === "NotFoundError") return {};
    throw error;
  }
  const found = {};
  for await (const [name, handle] of dir.entries()) {
    found[name] = handle.kind === "file" ? (await handle.getFile()).size : "folder";
  }
  return found;
}

async function fsck(database) {
  const { pyodide } = await ws.runtime();
  return JSON.parse(await pyodide.runPythonAsync(`
import json, webstore
store = await webstore.open(${JSON.stringify(NAME)}, "indexeddb", path=${JSON.stringify(database)})
try:
    out = await store.fsck()
finally:
    await store.close()
json.dumps(out)`));
}

/**
 * After a restart: the raw records and the files before the store opens (opening it collects
 * files no record names, in the background), then which write each key holds (or why it is
 * torn), Python's fsck, `collect`, and the files left.
 */
export async function check(database) {
  const hex = (name) => /^[0-9a-f]{64}$/.test(name);
  const out = { records: await records(database) };
  const before = await files(database);
  const named = new Set(Object.values(out.records).filter((r) => r?.file).map((r) => r.file));
  out.missing = [...named].filter((name) => !(name in before));
  out.wrongSize = Object.values(out.records)
    .filter((r) => r?.file && r.file in before && before[r.file] !== r.size);
  out.leftovers = Object.keys(before).filter((name) => hex(name) && !named.has(name)).length;
  out.strays = Object.keys(before).filter((name) => !hex(name) && name !== "probe");
  const store = await ws.open(NAME, { backend: "indexeddb", path: database });
  out.largeValues = store.largeValues;
  out.values = {};
  out.torn = {};
  try {
    for (const key of KEYS) {
      let value;
      try {
        value = await store.get(key);
      } catch (error) {
        out.torn[key] = `get failed: ${errorOf(error)}`;
        continue;
      }
      if (value === undefined) { out.values[key] = null; continue; }
      const got = identify(key, value);
      if (got.torn) out.torn[key] = got.torn; else out.values[key] = got.seq;
    }
    out.fsck = await fsck(database);
    out.collected = await store.collect(); // after the one opening started, if any
    const after = await files(database);
    out.keptNamed = [...named].every((name) => name in after);
    out.leftAfter = Object.keys(after).filter((name) => hex(name) && !named.has(name)).length;
  } finally {
    await store.close();
  }
  return out;
}
