// The JS API in Node 20 (memory backend): values, errors, batches, repo, merge, watch.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  open, openRepo, get, set, del, keys, runtime,
  KeyNotFound, UnsupportedValue, InvalidKey, InvalidArgument, StoreClosed, WebstoreError,
} from "../../wasm/js/index.js";

let n = 0;
const fresh = () => open(`t${n++}`, { backend: "memory", path: `mem-${Date.now()}-${n}` });

test("one Pyodide shared by every store, progress reported", async () => {
  const seen = [];
  const a = await runtime({ onProgress: (p) => seen.push(p.fraction) });
  const b = await runtime();
  assert.equal(a.pyodide, b.pyodide);
  assert.equal(seen.at(-1), 1);
});

test("auto selection in Node 20 picks memory and says why", async () => {
  const s = await open("auto");
  assert.equal(s.backend, "memory");
  assert.equal(s.selection.backend, "memory");
  assert.ok(Object.keys(s.selection.refused).length >= 1, JSON.stringify(s.selection));
  await s.close();
});

test("JSON-like values, typed arrays, ArrayBuffer and BigInt round-trip", async () => {
  const s = await fresh();
  const value = { n: 1, f: 1.5, neg0: -0, s: "text", t: true, nil: null, list: [1, [2, { x: "y" }]],
    big: 2n ** 63n, small: -(2n ** 63n) };
  await s.set("v", value);
  assert.deepEqual(await s.get("v"), value);
  const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, Float32Array, Float64Array];
  for (const Kind of kinds) {
    const arr = Kind.from([1, 2, 3, 250]);
    await s.set(Kind.name, arr);
    const back = await s.get(Kind.name);
    assert.equal(back.constructor, Kind, Kind.name);
    assert.deepEqual([...back], [...arr]);
  }
  await s.set("b64", new BigInt64Array([-1n, 2n ** 62n]));
  assert.deepEqual(await s.get("b64"), new BigInt64Array([-1n, 2n ** 62n]));
  await s.set("u64", new BigUint64Array([2n ** 64n - 1n]));
  assert.deepEqual(await s.get("u64"), new BigUint64Array([2n ** 64n - 1n]));
  const buf = new Uint8Array([0, 255, 7]).buffer;
  await s.set("buf", buf);
  const backBuf = await s.get("buf");
  assert.ok(backBuf instanceof ArrayBuffer);
  assert.deepEqual(new Uint8Array(backBuf), new Uint8Array([0, 255, 7]));
  const sub = new Uint16Array([9, 8, 7, 6]).subarray(1, 3); // a view with an offset
  await s.set("sub", sub);
  assert.deepEqual(await s.get("sub"), new Uint16Array([8, 7]));
  assert.equal(await s.get("missing"), undefined);
  await s.set("null", null);
  assert.equal(await s.get("null"), null);
  assert.equal(await s.has("null"), true);
});

test("BigInt inside the safe range reads back as a number (documented)", async () => {
  const s = await fresh();
  await s.set("b", 5n);
  assert.equal(await s.get("b"), 5);
});

test("errors are Error subclasses named after the Python errors", async () => {
  const s = await fresh();
  await assert.rejects(s.set("d", new Date()), (e) => e instanceof UnsupportedValue
    && e instanceof WebstoreError && e instanceof Error && e.name === "UnsupportedValue"
    && /Date/.test(e.message));
  await assert.rejects(s.set("m", { a: new Map() }), (e) => e.name === "UnsupportedValue"
    && e.path === 'value["a"]');
  await assert.rejects(s.set("", 1), (e) => e instanceof InvalidKey && e.name === "InvalidKey");
  await assert.rejects(s.set("u", undefined), UnsupportedValue);
  await assert.rejects(s.set("big", 2n ** 64n), UnsupportedValue);
  const cyc = {}; cyc.self = cyc;
  await assert.rejects(s.set("c", cyc), UnsupportedValue);
  await s.close();
  await assert.rejects(s.get("x"), (e) => e instanceof StoreClosed && e.name === "StoreClosed");
});

test("one conversion path: what JSON would change travels beside it, exactly", async () => {
  const s = await fresh();
  const odd = {
    "\u0000": ["t", 0], "\u0000\u0000x": 1, nan: NaN, inf: -Infinity, neg0: -0,
    huge: 2 ** 60, arr: [1, -0, "\u0000"], buf: new Uint8Array([7]),
  };
  await s.set("odd", odd);
  const back = await s.get("odd");
  assert.deepEqual(Object.keys(back).sort(), Object.keys(odd).sort());
  assert.deepEqual(back["\u0000"], ["t", 0]); // user data, never read as a placeholder
  assert.equal(back["\u0000\u0000x"], 1);
  assert.ok(Number.isNaN(back.nan) && back.inf === -Infinity && Object.is(back.neg0, -0));
  assert.equal(back.huge, 2 ** 60, "an unsafe-integer number stays a number, not a BigInt");
  assert.ok(Object.is(back.arr[1], -0) && back.arr[2] === "\u0000");
  assert.deepEqual(back.buf, new Uint8Array([7]));
  // The Python codec judges, and its errors name the path.
  await assert.rejects(s.set("big", { a: [2n ** 64n] }), (e) => e instanceof UnsupportedValue
    && /\['a'\]\[0\]/.test(e.path ?? e.message));
  let deep = 1;
  for (let i = 0; i < 5000; i += 1) deep = [deep];
  await assert.rejects(s.set("deep", deep), UnsupportedValue);
  const cyc = { list: [] }; cyc.list.push(cyc);
  await assert.rejects(s.set("c", cyc), (e) => e instanceof UnsupportedValue
    && e.path === 'value["list"][0]', "a cycle is named where it closes");
  assert.equal(await s.has("big"), false);
  await s.close();
});

test("batches of typed arrays cross as one buffer each way, each value its own buffer", async () => {
  const s = await fresh();
  const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  const pairs = kinds.map((Kind, i) => [`k/${i}`, Kind.name.startsWith("Big")
    ? Kind.from([1n, 2n, BigInt(i)]) : Kind.from([1, 2, i])]);
  // Odd lengths before 8-byte kinds: the joined buffer is unaligned, each value is not.
  pairs.push(["mixed", { a: new Uint8Array([1, 2, 3]), b: [new Float64Array([0.5, -0]),
    new Uint8Array([9]).buffer], "\u0000": new Int16Array([-2]), n: 2n ** 60n, x: NaN }]);
  pairs.push(["empty", new Float32Array(0)], ["plain", "text"]);
  await s.setMany(pairs);
  const keys = [...pairs.map(([k]) => k), "missing"];
  const many = await s.getMany(keys);
  const entries = await s.entries();
  const byKey = new Map(entries);
  const seenBuffers = new Set();
  for (const [i, [key, want]] of pairs.entries()) {
    for (const got of [many[i], byKey.get(key), await s.get(key)]) {
      assert.deepEqual(got, want, key);
      if (ArrayBuffer.isView(got)) {
        assert.equal(got.constructor, want.constructor, key);
        assert.equal(got.buffer.byteLength, got.byteLength, `${key}: its own buffer`);
        assert.ok(!seenBuffers.has(got.buffer), `${key}: not shared with another value`);
        seenBuffers.add(got.buffer);
      }
    }
  }
  assert.equal(many.at(-1), undefined);
  const mixed = many[kinds.length];
  assert.ok(Object.is(mixed.b[0][1], -0) && Number.isNaN(mixed.x) && mixed.n === 2n ** 60n);
  assert.ok(mixed.b[1] instanceof ArrayBuffer && mixed.b[1].byteLength === 1);
  // Only binary values: setMany and getMany take the binary batch (no JSON) both ways.
  const binary = [...pairs.slice(0, kinds.length), ["ab", new Uint8Array([5, 6]).buffer],
    ["empty2", new BigInt64Array(0)], ["view", new Int32Array([1, 2, 3, 4]).subarray(1, 3)]];
  await s.setMany(binary);
  const backBinary = await s.getMany([...binary.map(([k]) => k), "missing"]);
  assert.deepEqual(backBinary.slice(0, -1), binary.map(([, v]) => (v instanceof ArrayBuffer ? v
    : new v.constructor(v))), "each kind back, the view as its own array");
  assert.equal(backBinary.length, binary.length + 1);
  assert.ok(backBinary.at(-1) === undefined && (backBinary.length - 1) in backBinary);
  assert.deepEqual(await s.get("view"), new Int32Array([2, 3]));
  assert.equal(new Set(backBinary.slice(0, -1).map((v) => v.buffer ?? v)).size, binary.length);
  for (const bad of [5, "", undefined]) {
    await assert.rejects(s.setMany([["fine", new Uint8Array(1)], [bad, new Uint8Array(2)]]),
      InvalidKey, `binary batch with key ${String(bad)}`);
  }
  assert.equal(await s.has("fine"), false, "nothing of a refused binary batch is written");
  const one = await s.getMany(["k/8"]); // a single array: the whole answer buffer, no copy
  assert.deepEqual(one, [Float64Array.from([1, 2, 8])]);
  assert.equal(one[0].buffer.byteLength, 24);
  await s.close();
});

test("batches, listing, clear", async () => {
  const s = await fresh();
  await s.setMany([["a/1", 1], ["a/2", 2], ["b", "x"]]);
  await s.setMany({ c: [1] });
  await s.setMany(new Map([["d", true]]));
  assert.deepEqual(await s.keys(), ["a/1", "a/2", "b", "c", "d"]);
  assert.deepEqual(await s.keys("a/"), ["a/1", "a/2"]);
  assert.deepEqual(await s.entries("a/"), [["a/1", 1], ["a/2", 2]]);
  assert.deepEqual(await s.getMany(["b", "zz", "a/1"]), ["x", undefined, 1]);
  assert.deepEqual(await s.getMany(new Set(["b"])), ["x"], "any iterable of keys");
  for (const bad of [5, undefined, 5n, { k: 1 }]) {
    await assert.rejects(s.getMany(["b", bad]), InvalidKey, String(bad));
    await assert.rejects(s.deleteMany(["b", bad]), InvalidKey, String(bad));
  }
  assert.equal(await s.has("b"), true, "a refused deleteMany deletes nothing");
  await assert.rejects(s.setMany([["ok", 1], ["bad", new Date()]]), UnsupportedValue);
  assert.equal(await s.has("ok"), false, "nothing of a failed batch is written");
  await s.deleteMany(["a/1", "a/2"]);
  assert.deepEqual(await s.keys(), ["b", "c", "d"]);
  await s.delete("b");
  assert.equal(await s.has("b"), false);
  await s.clear();
  assert.deepEqual(await s.keys(), []);
});

test("idb-keyval style functions on the default store", async () => {
  await set("hello", "world");
  assert.equal(await get("hello"), "world");
  assert.ok((await keys()).includes("hello"));
  await del("hello");
  assert.equal(await get("hello"), undefined);
});

test("store.watch: one call per durable batch, prefix filter, unsubscribe", async () => {
  const s = await fresh();
  const all = [];
  const inside = [];
  const values = [];
  const stop = s.watch(async (changes) => {
    all.push(changes);
    values.push(await s.getMany(changes.map((c) => c.key))); // durable: readable now
  });
  const stopInside = s.watch((changes) => inside.push(changes), { prefix: "in/" });
  await s.set("in/a", { big: "value" });
  await s.setMany({ "in/b": 1, out: 2 });
  await assert.rejects(s.setMany([["in/c", 3], ["bad", () => 1]]));
  await s.delete("out");
  await s.deleteMany(["in/a", "in/b"]);
  await s.set("in/c", 4);
  await s.clear();
  assert.deepEqual(all, [
    [{ key: "in/a", type: "set" }],
    [{ key: "in/b", type: "set" }, { key: "out", type: "set" }],
    [{ key: "out", type: "delete" }],
    [{ key: "in/a", type: "delete" }, { key: "in/b", type: "delete" }],
    [{ key: "in/c", type: "set" }],
    [{ key: "in/c", type: "delete" }],
  ]);
  assert.deepEqual(values, [[{ big: "value" }], [1, 2], [undefined], [undefined, undefined],
    [4], [undefined]]);
  assert.deepEqual(inside, [all[0], [{ key: "in/b", type: "set" }], all[3], all[4], all[5]]);
  stop();
  stop(); // idempotent
  await s.set("in/d", 5);
  assert.equal(all.length, 6, "no event after unsubscribe");
  assert.equal(inside.length, 6);
  stopInside();
  await s.set("in/e", 6);
  assert.equal(inside.length, 6);
  assert.throws(() => s.watch("not a function"), TypeError);
  assert.throws(() => s.watch(() => {}, { prefix: 1 }), InvalidArgument);
  await s.close();
});

test("repo: commits, history, time travel, diff, branch, merge, conflicts, watch", async () => {
  const repo = await openRepo(`repo${Date.now()}`, { backend: "memory" });
  const main = repo.branch("main");
  assert.equal(await main.head(), null);
  assert.deepEqual((await main.history()).entries, []);
  const events = [];
  const stop = main.watch((e) => events.push(e));
  const c1 = await main.set("notes/a", { text: "one" }, { message: "first" });
  assert.match(c1, /^[0-9a-f]{64}$/);
  assert.equal(events.length, 1);
  assert.equal(events[0].old, null);
  assert.equal(events[0].new, c1);
  assert.deepEqual(events[0].changes, [{ type: "added", path: "notes/a", value: { text: "one" } }]);
  const pixels = new Uint8ClampedArray([1, 2, 3, 4]);
  await main.set("canvas", pixels, { message: "draw" });
  assert.deepEqual(await main.get("canvas"), pixels);
  const hist = await main.history();
  assert.deepEqual(hist.entries.map((e) => e.message), ["draw", "first"]);
  assert.equal(typeof hist.entries[0].time, "number");
  assert.equal(await repo.at(c1).get("canvas"), undefined);
  assert.deepEqual(await repo.at(c1).get("notes/a"), { text: "one" });
  assert.deepEqual(await repo.diff(c1, "main"), [{ type: "added", path: "canvas", value: pixels }]);

  const feature = await main.fork("feature");
  await feature.set("notes/b", "two", { message: "b" });
  const ff = await repo.merge("main", "feature");
  assert.equal(ff.ok, true);
  assert.equal(ff.fastForward, true);
  assert.equal(await main.get("notes/b"), "two");

  await feature.set("notes/a", { text: "theirs" }, { message: "t" });
  await main.set("notes/a", { text: "ours" }, { message: "o" });
  const bad = await main.merge("feature");
  assert.equal(bad.ok, false);
  assert.equal(bad.commit, null);
  assert.deepEqual(bad.conflicts, [{ path: "notes/a", base: { kind: "value", value: { text: "one" } },
    ours: { kind: "value", value: { text: "ours" } }, theirs: { kind: "value", value: { text: "theirs" } } }]);
  assert.deepEqual(await main.get("notes/a"), { text: "ours" }, "nothing committed on conflict");
  assert.deepEqual((await repo.branches()).sort(), ["feature", "main"]);

  const count = events.length;
  stop();
  await main.set("notes/c", 3);
  assert.equal(events.length, count, "no event after unsubscribe");
  await main.setMany({ "notes/c": undefined, "notes/d": 4 }, { message: "batch" });
  assert.equal(await main.get("notes/c"), undefined);
  assert.equal(await main.get("notes/d"), 4);
  await assert.rejects(repo.merge("main", "nope"), KeyNotFound);
  await repo.close();
});
