// Page side of test_kv_layout.py: the key-value store's IndexedDB layouts through the JS API
// (wasm/js/index.js) and Python. Every function returns plain JSON-able data.
import * as ws from "/wasm/js/index.js";

const KINDS = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array",
  "BigUint64Array"];

function b64(u8) {
  let text = "";
  for (let i = 0; i < u8.length; i += 0x8000) {
    text += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  }
  return btoa(text);
}
const bytesOf = (v) => new Uint8Array(v.buffer ?? v, v.byteOffset ?? 0, v.byteLength);
function describe(v) {
  if (ArrayBuffer.isView(v)) return { kind: v.constructor.name, base64: b64(bytesOf(v)) };
  if (v instanceof ArrayBuffer) return { kind: "ArrayBuffer", base64: b64(new Uint8Array(v)) };
  if (typeof v === "bigint") return { kind: "BigInt", text: v.toString() };
  return { kind: "json", value: v };
}
const errorOf = (e) => ({ name: e?.name, message: String(e?.message ?? e), key: e?.key });

function openRaw(database) {
  return new Promise((ok, fail) => {
    const req = indexedDB.open(database);
    req.onupgradeneeded = () => req.result.createObjectStore("kv");
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
}
async function rawTx(database, mode, body) {
  const db = await openRaw(database);
  try {
    const tx = db.transaction("kv", mode);
    const result = await body(tx.objectStore("kv"));
    await new Promise((ok, fail) => { tx.oncomplete = ok; tx.onerror = () => fail(tx.error); });
    return result;
  } finally {
    db.close();
  }
}
const req = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });

async function python(code) {
  const { pyodide } = await ws.runtime();
  return JSON.parse(await pyodide.runPythonAsync(code));
}

/** Load the 0.1.0 fixture's raw records into `database`, then read every key back. */
export async function readFixture(database, fixture) {
  await rawTx(database, "readwrite", async (store) => {
    for (const [key, base64] of fixture.records) {
      store.put(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)), key);
    }
  });
  const store = await ws.open("notes", { backend: "indexeddb", path: database });
  const js = {};
  for (const key of Object.keys(fixture.js)) js[key] = describe(await store.get(key));
  const many = (await store.getMany(Object.keys(fixture.js))).map(describe);
  const other = await ws.open("other", { backend: "indexeddb", path: database });
  const py = await python(`
import json
import webstore
store = await webstore.open("notes", "indexeddb", path=${JSON.stringify(database)})
out = {k: repr(await store.get(k)) for k in ${JSON.stringify(Object.keys(fixture.python))}}
out["fsck"] = await store.fsck()
await store.close()
json.dumps(out)`);
  return { js, many, other: await other.get("json/string"), python: py };
}

// A value of `kind` with `bytes` bytes whose content depends on `seed`.
function make(kind, bytes, seed) {
  const u8 = new Uint8Array(bytes);
  let x = Math.imul(seed, 2654435761) >>> 0;
  for (let i = 0; i < bytes; i += 1) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; u8[i] = x >>> 24; }
  return kind === "ArrayBuffer" ? u8.buffer : new globalThis[kind](u8.buffer);
}

/** Large values of every kind through the JS API: raw records, reads from JS and Python. */
export async function roundTrip(database) {
  const store = await ws.open("big", { backend: "indexeddb", path: database });
  const changes = [];
  const stop = store.watch((c) => { changes.push(...c); });
  const written = {};
  for (const [i, kind] of [...KINDS, "ArrayBuffer"].entries()) {
    const value = make(kind, 64 * 1024 + 8 * i, i + 1);
    written[`v/${kind}`] = describe(value);
    await store.set(`v/${kind}`, value);
  }
  // A small one stays in layout 1; a big one changed by the caller right after `set` was
  // called keeps what it held at the call.
  await store.set("v/small", new Float64Array([1, 2, 3]));
  const moving = make("Float64Array", 1 << 20, 99);
  written["v/moving"] = describe(moving);
  const pending = store.set("v/moving", moving);
  moving.fill(7);
  await pending;
  const raw = await rawTx(database, "readonly", async (s) => {
    const keys = await req(s.getAllKeys());
    const values = await req(s.getAll());
    return Object.fromEntries(keys.map((k, i) => [k, values[i] instanceof Uint8Array ? "layout 1"
      : values[i]?.webstore === 2 && values[i].data instanceof ArrayBuffer ? "layout 2"
        : values[i]?.webstore === 2 && typeof values[i].file === "string" ? "layout 2 file"
          : "other"]));
  });
  const read = {};
  for (const key of Object.keys(written)) read[key] = describe(await store.get(key));
  const entries = Object.fromEntries((await store.entries("v/")).map(([k, v]) => [k, describe(v)]));
  const py = await python(`
import base64, json, webstore
from webstore.kv.typed import TypedArray
store = await webstore.open("big", "indexeddb", path=${JSON.stringify(database)})
out = {}
for key, value in await store.items("v/"):
    if isinstance(value, bytes):
        out[key] = {"kind": "ArrayBuffer", "base64": base64.b64encode(value).decode()}
    elif key != "v/small":
        data = value.to_bytes() if hasattr(value, "to_bytes") else bytes(value.data)
        out[key] = {"kind": value.constructor.name if hasattr(value, "constructor") else value.kind,
                    "base64": base64.b64encode(data).decode()}
out["fsck"] = await store.fsck()
json.dumps(out)`);
  stop();
  const largeValues = store.largeValues;
  await store.close();
  return { written, read, entries, python: py, raw, largeValues,
    changes: changes.filter((c) => c.key === "v/Float64Array").length };
}

/** Flip one byte of a layout-2 record (`where`: "data" or "head"), then read it. */
export async function corrupt(database, where) {
  const store = await ws.open("bad", { backend: "indexeddb", path: database });
  await store.set("x", make("Float32Array", 1 << 18, 5));
  await rawTx(database, "readwrite", async (s) => {
    const record = await req(s.get("3:bad:x"));
    const bytes = where === "head" ? record.head : new Uint8Array(record.data);
    bytes[where === "head" ? 45 : 1000] ^= 1;
    s.put(record, "3:bad:x");
  });
  const out = {};
  try { await store.get("x"); out.js = "no error"; } catch (e) { out.js = errorOf(e); }
  Object.assign(out, await python(`
import json, webstore
from webstore.errors import IntegrityError
store = await webstore.open("bad", "indexeddb", path=${JSON.stringify(database)})
out = {}
try:
    await store.get("x")
    out["python"] = "no error"
except IntegrityError as exc:
    out["python"] = {"name": type(exc).__name__, "key": exc.key, "message": str(exc)}
out["fsck"] = await store.fsck()
json.dumps(out)`));
  return out;
}

async function opfsNames(database) {
  const root = await navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle("webstore");
  const dir = await top.getDirectoryHandle(encodeURIComponent(database));
  const names = [];
  for await (const name of dir.keys()) if (/^[0-9a-f]{64}$/.test(name)) names.push(name);
  return names.sort(); // value files only (the folder also holds the probe's file)
}

/** Where OPFS is used: overwrites and deletes free their files at once; a file no record
 * names (a writer killed between its file and its record) goes with `collect`. */
export async function collect(database) {
  const store = await ws.open("files", { backend: "indexeddb", path: database });
  if (!store.largeValues.includes("OPFS")) return { largeValues: store.largeValues };
  const big = (seed) => make("Float64Array", 2 << 20, seed);
  await store.set("a", big(1));
  await store.set("b", big(2));
  await store.set("same", big(2)); // same content: one file for both keys
  const before = (await opfsNames(database)).length;
  await store.set("a", big(3)); // the first file goes
  await store.delete("b"); // its file stays: "same" names it
  const garbage = (await opfsNames(database)).length;
  const root0 = await navigator.storage.getDirectory();
  const folder = await (await root0.getDirectoryHandle("webstore"))
    .getDirectoryHandle(encodeURIComponent(database));
  const stray = await (await folder.getFileHandle("ab".repeat(32), { create: true }))
    .createWritable();
  await stray.write(new Uint8Array(10));
  await stray.close();
  const collected = await store.collect();
  const after = (await opfsNames(database)).length;
  const same = describe(await store.get("same")).base64 === describe(big(2)).base64;
  const a = describe(await store.get("a")).base64 === describe(big(3)).base64;
  await store.delete("a");
  await store.delete("same");
  const last = await store.collect();
  const empty = (await opfsNames(database)).length;
  // A flipped byte in a file is caught, naming the key.
  await store.set("c", big(4));
  const [name] = await opfsNames(database);
  const root = await navigator.storage.getDirectory();
  const dir = await (await root.getDirectoryHandle("webstore"))
    .getDirectoryHandle(encodeURIComponent(database));
  const bytes = new Uint8Array(await (await (await dir.getFileHandle(name)).getFile()).arrayBuffer());
  bytes[12345] ^= 1;
  const writable = await (await dir.getFileHandle(name)).createWritable();
  await writable.write(bytes);
  await writable.close();
  let flipped;
  try { await store.get("c"); flipped = "no error"; } catch (e) { flipped = errorOf(e); }
  const py = await python(`
import json, webstore
store = await webstore.open("files", "indexeddb", path=${JSON.stringify(database)})
json.dumps(await store.fsck())`);
  await store.close();
  return { largeValues: store.largeValues, before, garbage, collected, after, same, a, last,
    empty, flipped, fsck: py };
}

/** Under a small quota: large writes fail with StorageFull, leave no file, keep the rest. */
export async function quota(database) {
  const store = await ws.open("q", { backend: "indexeddb", path: database });
  const onOpfs = store.largeValues.includes("OPFS");
  const keep = make("Float64Array", 1 << 20, 1);
  await store.set("keep", keep);
  let error = null;
  let written = 0;
  while (!error && written < 10) {
    try {
      await store.set(`big${written}`, make("Uint8Array", 3 << 20, 10 + written));
      written += 1;
    } catch (e) { error = errorOf(e); }
  }
  const out = { largeValues: store.largeValues, error, written, keys: await store.keys(),
    estimate: await navigator.storage.estimate() };
  out.keep = describe(await store.get("keep")).base64 === describe(keep).base64;
  if (onOpfs) out.files = (await opfsNames(database)).length;
  await store.delete("big0");
  out.collected = await store.collect();
  try {
    await store.set("again", make("Uint8Array", 2 << 20, 99));
    out.again = describe(await store.get("again")).base64 === describe(make("Uint8Array", 2 << 20, 99)).base64;
  } catch (e) { out.again = errorOf(e); }
  await store.close();
  return out;
}

/** Python's large values: whole framed values on OPFS where it is used, read back by both. */
export async function pythonLarge(database) {
  const py = await python(`
import array, json, webstore
store = await webstore.open("pyl", "indexeddb", path=${JSON.stringify(database)})
value = array.array("d", (i * 0.25 for i in range(300_000)))
await store.set("arr", value)
await store.set_many({"a2": value, "small": 1})
done = await store.set_if_equals("a2", value, "replaced")
out = {"same": await store.get("arr") == value, "cas": done, "a2": await store.get("a2"),
       "fsck": await store.fsck()}
json.dumps(out)`);
  const raw = await rawTx(database, "readonly", async (s) => {
    const record = await req(s.get("3:pyl:arr"));
    return record instanceof Uint8Array ? "layout 1" : record?.file && !record.head
      ? "whole file" : "other";
  });
  const store = await ws.open("pyl", { backend: "indexeddb", path: database });
  const back = await store.get("arr");
  const js = { length: back.length, last: back[back.length - 1] };
  await store.close();
  return { ...py, raw, js };
}
