// The page side of the worker-mode test, served to the page (tests/js/worker_scenario.html)
// and run there by both runners: tests/js/worker.browser.mjs (Chromium, Firefox; Playwright)
// and tests/browser/test_worker_mode_webkit.py (WebKitGTK; Selenium). Each function runs in a
// fresh page; `judge*` turn results into failures (a list of strings, empty when all is well)
// and a one-line summary, so both runners apply the same checks.
//
//   scenario     one scenario with the engine on the page (`worker: false`) or in the worker:
//                values of every kind, errors with class and fields, values postMessage cannot
//                carry, store and branch watches, commits/history/merge/diff, push/pull/fetch/
//                clone through a real Git server. `judge` requires both descriptions equal.
//   workerOnly   transfer vs clone; a worker terminated through client.js or crashing
//                mid-call rejects the call, the next call starts a new worker.
//   workerGone   a worker that stops with no error event (Worker.terminate() called by other
//                code): the pending call rejects with StorageUnavailable, detected through
//                the worker's Web Lock; the next call works.
//
// `ns` prefixes every store name (one WebKit profile serves every run and other tests) and is
// removed from the results, as are the remotes' URLs (replaced by their role).
const INDEX = new URL("../../wasm/js/index.js", import.meta.url).href;
const CLIENT = new URL("../../wasm/js/client.js", import.meta.url).href;

/** `out` as JSON with the run's own strings (store prefix, remote URLs) replaced. */
function anonymous(out, replace) {
  let text = JSON.stringify(out);
  for (const [from, to] of replace) if (from) text = text.replaceAll(from, to);
  return JSON.parse(text);
}

export async function scenario({ worker, ns, remote, priv, username, password }) {
  const ws = await import(INDEX);
  const opts = worker ? { worker: true } : {};
  const ids = new Map();
  const label = (id) => (id == null ? id : ids.get(id) ?? (ids.set(id, `c${ids.size}`), ids.get(id)));
  const d = (v) => {
    if (typeof v === "bigint") return { bigint: String(v) };
    if (typeof v === "number") return Object.is(v, -0) ? "-0" : Number.isFinite(v) ? v : String(v);
    if (v === undefined) return { undefined: true };
    if (v === null || typeof v !== "object") return v;
    if (ArrayBuffer.isView(v)) return { [v.constructor.name]: Array.from(v, (x) => d(x)) };
    if (v instanceof ArrayBuffer) return { ArrayBuffer: [...new Uint8Array(v)] };
    if (Array.isArray(v)) return v.map(d);
    if (Object.getPrototypeOf(v) !== Object.prototype) return { notPlain: String(v) };
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, d(x)]));
  };
  const err = (e) => ({ error: e.name, cls: e instanceof (ws[e.name] ?? globalThis[e.name] ?? Error),
    webstore: e instanceof ws.WebstoreError, message: e.message, fields: { ...e } });
  const attempt = async (fn) => { try { return { ok: d(await fn()) }; } catch (e) { return err(e); } };
  const until = async (cond, what) => {
    for (const end = Date.now() + 20_000; !cond();) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const out = {};
  const progress = [];
  const store = await ws.open(`${ns}s`, { ...opts, onProgress: (p) => progress.push(p) });
  out.progress = { called: progress.length > 0, last: progress.at(-1) };
  out.info = { name: store.name, backend: store.backend, selection: store.selection.backend,
    capabilities: store.capabilities };

  const values = {
    nul: null, t: true, zero: 0, negzero: -0, half: 1.5, nan: NaN, inf: -Infinity,
    unsafe: 2 ** 53 + 2, safe: Number.MAX_SAFE_INTEGER, small: 123n, huge: 2n ** 64n - 1n,
    neg: -(2n ** 63n), str: "h\u00e9llo\u0000\u2713", arr: [1, [2, {}], null],
    obj: { "\u0000x": 1, a: { b: [null, "x"] }, skipped: undefined },
    i8: new Int8Array([-1, 2]), u8: new Uint8Array([1, 255]), u8c: new Uint8ClampedArray([3]),
    i16: new Int16Array([-300]), u16: new Uint16Array([65535]), i32: new Int32Array([-7]),
    u32: new Uint32Array([4e9]), f32: new Float32Array([1.5, -0]),
    f64: new Float64Array([NaN, -0, 1e300]), b64: new BigInt64Array([-(2n ** 63n)]),
    bu64: new BigUint64Array([2n ** 64n - 1n]), ab: new Uint8Array([9, 8, 7]).buffer,
    view: new Uint16Array(new Uint16Array([1, 2, 3, 4]).buffer, 2, 2),
    nested: { px: new Uint8ClampedArray([1, 2]), list: [new Float64Array([0.5])] },
  };
  out.single = {};
  for (const [k, v] of Object.entries(values)) {
    await store.set(`v/${k}`, v);
    out.single[k] = d(await store.get(`v/${k}`));
  }
  await store.setMany(new Map(Object.entries(values).map(([k, v]) => [`m/${k}`, v])));
  out.many = d(await store.getMany([...Object.keys(values).map((k) => `m/${k}`), "missing"]));
  out.entries = d(await store.entries("m/"));
  out.keys = await store.keys("v/");
  out.has = [await store.has("v/t"), await store.has("nope")];
  await store.delete("v/t");
  await store.deleteMany(["v/nul", "v/zero"]);
  out.afterDelete = await store.keys("v/");

  // Large binary values: layout 2 (never through WebAssembly) on IndexedDB, in either mode.
  const sum = (v) => {
    const u = new Uint8Array(v.buffer ?? v, v.byteOffset ?? 0, v.byteLength);
    let h = 0;
    for (const b of u) h = (Math.imul(h, 31) + b) | 0;
    return [v.constructor.name, v.byteLength, h];
  };
  const large = {
    f64: new Float64Array(20_000).map((_, i) => i / 3),
    ab: new Uint8Array(100_000).map((_, i) => i * 7).buffer,
    view: new Int32Array(new Int32Array(40_000).map((_, i) => -i).buffer, 4, 30_000),
  };
  out.large = {};
  for (const [k, v] of Object.entries(large)) {
    const before = sum(v);
    await store.set(`big/${k}`, v);
    out.large[k] = [before, sum(await store.get(`big/${k}`))];
  }
  out.large.many = (await store.getMany(["big/f64", "big/ab"])).map(sum);
  out.large.where = typeof store.largeValues;
  out.large.collected = typeof await store.collect();

  const deep = []; let cur = deep; for (let i = 0; i < 300; i++) { const n = []; cur.push(n); cur = n; }
  class Point { constructor() { this.x = 1; } }
  out.errors = {
    emptyKey: await attempt(() => store.set("", 1)),
    numberKey: await attempt(() => store.get(42)),
    date: await attempt(() => store.set("e", new Date(0))),
    map: await attempt(() => store.set("e", new Map([[1, 2]]))),
    dataView: await attempt(() => store.set("e", new DataView(new ArrayBuffer(2)))),
    undef: await attempt(() => store.set("e", undefined)),
    func: await attempt(() => store.set("e", { f: () => 1 })),
    symbol: await attempt(() => store.set("e", [Symbol("s")])),
    domNode: await attempt(() => store.set("e", { node: document.body })),
    weakMap: await attempt(() => store.set("e", new WeakMap())),
    inMany: await attempt(() => store.setMany([["ok", 1], ["bad", () => 0]])),
    cycle: await attempt(() => { const a = []; a.push(a); return store.set("e", a); }),
    deep: await attempt(() => store.set("e", deep)),
    intRange: await attempt(() => store.set("e", 2n ** 300n)),
    loneSurrogate: await attempt(() => store.set("\ud800", 1)),
    missingAfterErrors: await store.has("ok"),
  };
  out.knownDifference = await attempt(() => store.set("e", new Point())); // see client.js

  const events = [];
  const stop = store.watch((c) => events.push(c), { prefix: "w/" });
  await store.setMany({ "w/a": 1, "w/b": 2, x: 3 });
  await store.delete("w/a");
  await store.set("x", 4);
  await until(() => events.length >= 2, "store watch events");
  stop();
  const later = [];
  const stop2 = store.watch((c) => later.push(c), { prefix: "w/" });
  await store.set("w/c", 1);
  await until(() => later.length >= 1, "the second watch");
  stop2();
  out.watch = { events, later };
  out.badWatch = await attempt(() => store.watch("not a function"));
  out.storageInfo = Object.keys(await store.storageInfo()).sort();
  await store.close();
  out.afterClose = await attempt(() => store.get("x"));

  // the versioned store
  const repo = await ws.openRepo(`${ns}r`, opts);
  const main = repo.branch("main");
  const moves = [];
  const unwatch = main.watch((e) => moves.push(e));
  const c1 = label(await main.set("notes/a", { t: "x", px: new Uint8Array([1]) }, { message: "add a" }));
  const c2 = label(await main.setMany({ "notes/b": 2n ** 63n, "notes/c": -0, gone: undefined },
    { message: "b c" }));
  out.repo = { c1, c2, head: label(await main.head()) };
  const hist = await main.history();
  out.repo.history = hist.entries.map((e) => ({ id: label(e.id), message: e.message,
    parents: e.parents.map(label), author: e.author, time: typeof e.time }));
  out.repo.cursor = hist.cursor;
  const [first] = [...ids.keys()];
  out.repo.at = d(await repo.at(first).get("notes/a"));
  out.repo.atMissing = d(await repo.at(first).get("notes/b"));
  out.repo.items = d(await main.items("notes"));
  out.repo.list = await main.list("notes");
  const feature = await main.fork("feature");
  out.repo.featureName = feature.name;
  await feature.set("notes/a", "theirs", { message: "theirs" });
  await main.set("notes/a", "ours", { message: "ours" });
  const conflict = await main.merge("feature");
  out.repo.conflict = d({ ...conflict, commit: label(conflict.commit) });
  await feature.set("notes/d", new Float32Array([2.5]), { message: "d" });
  await feature.remove("notes/a", { message: "rm a" });
  const diff = await repo.diff("main", "feature");
  out.repo.diff = d(diff);
  out.repo.branchDiff = d(await feature.diff("main"));
  const empty = await repo.createBranch("empty", "main");
  out.repo.created = [empty.name, label(await empty.head())];
  out.repo.branches = await repo.branches();
  await repo.deleteBranch("empty");
  out.repo.branchesAfter = await repo.branches();
  out.repo.repoHistory = (await repo.history("feature", { limit: 2 })).entries.map((e) => e.message);
  out.repo.missingBranch = await attempt(() => repo.merge("main", "no-such-branch"));
  await until(() => moves.length >= 3, "branch watch events");
  unwatch();
  out.repo.moves = moves.map((m) => ({ old: label(m.old), new: label(m.new), changes: d(m.changes) }));

  // a Git server: push, clone, pull, fetch, credentials
  const phases = [];
  const pushed = await repo.push(remote, { onProgress: (p) => phases.push(p.phase) });
  out.git = { pushed: d({ ...pushed, commit: label(pushed.commit) }), phases };
  const clone = await ws.cloneRepo(remote, `${ns}clone`, opts);
  out.git.cloneHead = label(await clone.branch("main").head());
  out.git.cloneItems = d(await clone.branch("main").items());
  await main.set("notes/e", "after clone", { message: "e" });
  await repo.push(remote);
  const pulled = await clone.pull(remote);
  out.git.pulled = d({ ...pulled, commit: label(pulled.commit) });
  out.git.fetched = Object.keys((await clone.fetch(remote)).refs).sort();
  out.git.noAuth = await attempt(() => repo.push(priv));
  out.git.withAuth = (await repo.push(priv, { username, password })).changed;
  await clone.close();
  await repo.close();
  return anonymous(out, [[priv, "<private>"], [remote, "<remote>"], [ns, ""]]);
}

export async function workerOnly({ ns }) {
  const ws = await import(INDEX);
  const client = await import(CLIENT);
  const out = {};
  // buffers: cloned by default, transferred with transfer: true; results always arrive whole
  const kept = await ws.open(`${ns}t`, { worker: true });
  const moved = await ws.open(`${ns}t`, { worker: true, transfer: true });
  const a = new Float64Array([1, 2, 3]);
  await kept.set("a", a);
  const b = new Float64Array([4, 5]);
  await moved.setMany([["b", b], ["c", { inner: new Uint8Array([7]) }]]);
  out.buffers = { clonedStays: a.length, transferredDetached: b.length,
    back: Array.from(await moved.get("a")), backB: Array.from(await kept.get("b")) };
  out.oneWorker = client.__debugWorker() !== null;

  // a worker terminated mid-call
  const store = await ws.open(`${ns}crash`, { worker: true });
  const repo = await ws.openRepo(`${ns}crash`, { worker: true });
  await store.set("acked", { n: 1 });
  const acked = await repo.branch("main").set("p", "acked", { message: "acked" });
  const seen = [];
  store.watch((c) => seen.push(...c.map((x) => x.key)), { prefix: "w/" });
  const first = client.__debugWorker();
  const big = store.set("big", new Float64Array(8_000_000)); // 64 MB, in flight
  const started = performance.now();
  await new Promise((r) => setTimeout(r, 0));
  client.__debugTerminateWorker();
  const outcome = await big.then(() => ({ resolved: true }),
    (e) => ({ name: e.name, unavailable: e instanceof ws.StorageUnavailable, backend: e.backend,
      mentions: /terminated/.test(e.message) }));
  out.terminated = { outcome, rejectMs: Math.round(performance.now() - started),
    noWorker: client.__debugWorker() === null };
  out.terminated.after = await store.get("acked");
  out.terminated.repoAfter = (await repo.branch("main").head()) === acked;
  out.terminated.newWorker = client.__debugWorker() !== first && client.__debugWorker() !== null;
  await store.set("w/again", 1);
  for (const end = Date.now() + 20_000; !seen.includes("w/again") && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 20));
  }
  out.terminated.watchResubscribed = seen.includes("w/again");
  out.terminated.seen = seen;

  // an uncaught error in the worker while a call is pending
  const second = client.__debugWorker();
  const pending = store.set("big2", new Float64Array(8_000_000));
  client.__debugCrashWorker();
  out.crashed = await pending.then(() => ({ resolved: true }),
    (e) => ({ name: e.name, unavailable: e instanceof ws.StorageUnavailable,
      mentions: /uncaught error/.test(e.message) }));
  out.crashed.after = await store.get("acked");
  out.crashed.newWorker = client.__debugWorker() !== second;
  return out;
}


export async function workerGone({ ns }) {
  const ws = await import(INDEX);
  const client = await import(CLIENT);
  const out = { locks: typeof globalThis.navigator?.locks?.request === "function" };
  const store = await ws.open(`${ns}gone`, { worker: true });
  await store.set("acked", { n: 1 });
  const raw = client.__debugWorker();
  let errorEvents = 0;
  raw.addEventListener("error", () => { errorEvents += 1; });
  const pending = store.set("big", new Float64Array(8_000_000)); // 64 MB, in flight
  await new Promise((r) => setTimeout(r, 0));
  const started = performance.now();
  raw.terminate(); // as other code, the browser or an out-of-memory kill would: no error event
  const within = (promise, ms) => {
    let timer;
    const late = new Promise((r) => { timer = setTimeout(() => r({ hung: ms }), ms); });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  };
  out.outcome = await within(pending.then(() => ({ resolved: true }),
    (e) => ({ name: e.name, unavailable: e instanceof ws.StorageUnavailable, backend: e.backend,
      message: e.message })), 10_000);
  out.rejectMs = Math.round(performance.now() - started);
  out.errorEvents = errorEvents;
  if (out.outcome.hung) return out; // the next call would hang as well
  out.after = await within(store.get("acked"), 60_000);
  out.newWorker = client.__debugWorker() !== raw && client.__debugWorker() !== null;
  await store.set("again", 2);
  out.again = await store.get("again");
  await store.close();
  return anonymous(out, [[ns, ""]]);
}

// ---- checks, shared by both runners --------------------------------------------------

function diffPaths(a, b, path = "") {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === "object" && typeof b === "object") {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .flatMap((k) => diffPaths(a[k], b[k], `${path}.${k}`));
  }
  return [`${path}: main ${JSON.stringify(a)} / worker ${JSON.stringify(b)}`];
}

function checker() {
  const failures = [];
  return [failures, (cond, what) => { if (!cond) failures.push(what); }];
}

/** `scenario` on the page (`main`) and in the worker (`worker`) must describe the same. */
export function judge(main, worker) {
  const [failures, check] = checker();
  const { knownDifference: mainPoint, ...m } = main;
  const { knownDifference: workerPoint, ...w } = worker;
  const differences = diffPaths(m, w);
  check(differences.length === 0,
    `main-thread and worker results differ:\n  ${differences.join("\n  ")}`);
  check(mainPoint?.error === "UnsupportedValue" && workerPoint?.ok !== undefined,
    `class instance: main ${JSON.stringify(mainPoint)}, worker ${JSON.stringify(workerPoint)}`);
  const e = w.errors ?? {};
  check(e.func?.error === "UnsupportedValue" && e.func.fields.path === 'value["f"]'
    && e.symbol?.fields.path === "value[0]" && e.domNode?.fields.type_name === "HTMLBodyElement"
    && e.inMany?.fields.path === "entries[1][1]", `uncloneable values: ${JSON.stringify(e)}`);
  check(w.git?.noAuth.error === "AuthenticationFailed" && w.git.noAuth.cls, "auth error class");
  const big = w.large ?? {};
  check(["f64", "ab", "view"].every((k) => JSON.stringify(big[k]?.[0]) === JSON.stringify(big[k]?.[1]))
    && JSON.stringify(big.many) === JSON.stringify([big.f64?.[0], big.ab?.[0]])
    && big.where === "string" && big.collected === "number", `large values: ${JSON.stringify(big)}`);
  check(w.repo?.conflict.ok === false && w.repo.moves.length >= 3, "merge conflict and moves");
  const summary = `main-thread and worker mode agree on ${Object.keys(m).length} groups `
    + `(${Object.keys(m.single ?? {}).length} value kinds, `
    + `${Object.keys(m.errors ?? {}).length - 1} refused cases, `
    + `${m.repo?.moves.length} branch moves, git ${m.git?.phases.join("/")})`;
  return { failures, summary };
}

/** The result of `workerOnly`. */
export function judgeWorkerOnly(x) {
  const [failures, check] = checker();
  check(x.buffers.clonedStays === 3 && x.buffers.transferredDetached === 0
    && x.buffers.back.join() === "1,2,3" && x.buffers.backB.join() === "4,5",
  `buffers: ${JSON.stringify(x.buffers)}`);
  const t = x.terminated;
  check(t.outcome.name === "StorageUnavailable" && t.outcome.unavailable
    && t.outcome.backend === "worker" && t.outcome.mentions && t.noWorker,
  `terminated call rejects: ${JSON.stringify(t)}`);
  check(t.after?.n === 1 && t.repoAfter && t.newWorker && t.watchResubscribed,
    `after termination: ${JSON.stringify(t)}`);
  const c = x.crashed;
  check(c.name === "StorageUnavailable" && c.unavailable && c.mentions && c.after?.n === 1
    && c.newWorker, `crash rejects, next call works: ${JSON.stringify(c)}`);
  return { failures,
    summary: `transfer/clone, terminate (rejected in ${t.rejectMs} ms) and crash recovery` };
}

/** The result of `workerGone`: rejected within 5 s although no error event fired. */
export function judgeWorkerGone(x) {
  const [failures, check] = checker();
  const o = x.outcome;
  check(x.locks, "navigator.locks is missing on this page: only error events are detected");
  check(!o.hung, `the pending call still hung ${o.hung} ms after Worker.terminate()`);
  check(o.name === "StorageUnavailable" && o.unavailable && o.backend === "worker"
    && /worker stopped/.test(o.message ?? ""), `rejection: ${JSON.stringify(o)}`);
  check(x.rejectMs < 5000, `rejected after ${x.rejectMs} ms (limit 5000)`);
  check(x.errorEvents === 0, `${x.errorEvents} error events fired (the test needs none)`);
  check(x.after?.n === 1 && x.newWorker && x.again === 2, `next calls: ${JSON.stringify(x)}`);
  return { failures, summary: `worker stopped without an error event: the pending call `
    + `rejected in ${x.rejectMs} ms, ${x.errorEvents} error events, the next call works` };
}
