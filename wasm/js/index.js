// webstore for JavaScript: the Python library's key-value store and versioned store, running
// in one shared Pyodide, with a Promise API shaped like idb-keyval's.
//
//   import { open, openRepo } from "webstore";
//   const store = await open("notes");                 // IndexedDB > localStorage > memory
//   await store.set("pixels", new Uint8ClampedArray(4));
//   const repo = await openRepo("notes");
//   await repo.branch("main").set("todo/1", { text: "milk" }, { message: "add milk" });
//
// Values: see values.js. Numbers that are safe integers are Python ints, other numbers floats;
// a BigInt is a Python int, so it reads back as a BigInt only outside the safe-integer range
// (one int type is shared with Python). Dates are refused: store toISOString() or getTime().
// ArrayBuffer <-> Python bytes; every TypedArray kind comes back as the same kind.
import { IntegrityError, fromEnvelope } from "./errors.js";
import { runtime, unwrap } from "./runtime.js";
import {
  binaryBatch, fromBinaryBatch, fromPython, isBinaryBatch, isTypedArray, toPython,
} from "./values.js";

export * from "./errors.js";
export { runtime };

// JS null would reach Python as JsNull; undefined is None.
const noNull = (arg) => (arg === null ? undefined : arg);

function openArgs(name, options) {
  return [String(name), options.backend ?? undefined, options.path ?? undefined];
}

// The Git server of push/pull/fetch/clone as one array, in the order jsapi.py's `_remote` reads. The
// credentials go to Python for this call only (a GitRemote made and dropped per call).
function remoteArgs(url, { username, password, headers, corsProxy, onProgress } = {}) {
  if (typeof url !== "string" && !(url instanceof URL)) {
    throw new TypeError("url must be a string or a URL");
  }
  if (onProgress != null && typeof onProgress !== "function") {
    throw new TypeError("onProgress must be a function");
  }
  const pairs = headers == null ? undefined
    : typeof headers[Symbol.iterator] === "function" ? [...headers] // Map, Headers, pairs
      : Object.entries(headers);
  return [String(url), username ?? undefined, password ?? undefined, pairs,
    corsProxy ?? undefined, onProgress ?? undefined];
}

// Start a watch through `py.watch(...args)` (a Python handle, or an error envelope thrown
// here); the returned function stops it once and is kept in `watches` until then.
function subscribe(py, watches, callback, ...args) {
  if (typeof callback !== "function") throw new TypeError("watch: callback must be a function");
  const handle = py.watch(...args);
  if (Array.isArray(handle)) throw fromEnvelope(handle);
  let active = true;
  const stop = () => {
    if (!active) return;
    active = false;
    watches.delete(stop);
    py.unwatch(handle);
    handle.destroy();
  };
  watches.add(stop);
  return stop;
}

// -- large binary values that never enter WebAssembly (layout 2, webstore/kv/codec.py) ----
//
// `set` of a typed array or ArrayBuffer of at least SPLIT_MIN_BYTES, on a backend that keeps
// split values (IndexedDB), copies it once (so the caller changing it before the write
// settles cannot make it fail its check later), hashes the copy with the browser's native
// SHA-256 (crypto.subtle, off this thread) and hands the copy to IndexedDB through Python
// untouched; only the key, kind, length and digest are Python values. `get` hashes what
// IndexedDB returns and wraps it as the same kind: no copy beyond IndexedDB's own. Where
// crypto.subtle is missing (a page not served from https or localhost) both go through Python
// as any other value, which reads either layout.
const SPLIT_MIN_BYTES = 64 * 1024;
const subtle = globalThis.crypto?.subtle;

function splitKind(value) {
  if (value instanceof ArrayBuffer) return value.byteLength >= SPLIT_MIN_BYTES ? "bytes" : null;
  if (!isTypedArray(value) || !(value.buffer instanceof ArrayBuffer)) return null;
  return value.byteLength >= SPLIT_MIN_BYTES ? value.constructor.name : null;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The value of a layout-2 record read by get_parts, once its SHA-256 matches.
async function fromParts(key, [kind, digest, length, data]) {
  const got = new Uint8Array(await subtle.digest("SHA-256", data));
  const want = new Uint8Array(digest);
  const Kind = kind === "bytes" ? null : globalThis[kind];
  if (hex(got) !== hex(want)) {
    throw new IntegrityError(`stored value for '${key}' is corrupt: SHA-256 mismatch`,
      { key, expected: hex(want), got: hex(got) });
  }
  if (!Kind) return data;
  if (length * Kind.BYTES_PER_ELEMENT !== data.byteLength) {
    throw new IntegrityError(`typed array '${key}': length ${length} does not match its data`,
      { key });
  }
  return new Kind(data);
}

// Keys of a batch as JSON text: one string for Python's json.loads, not a proxy per key.
// What is not a string arrives as what JSON makes of it (null for what JSON has no form
// for), which the store refuses as an invalid key.
function keyList(keys) {
  return JSON.stringify([...keys], (_, v) => (v === undefined || typeof v === "bigint"
    || typeof v === "symbol" || typeof v === "function" ? null : v));
}

/** @internal The worker's `set` (worker.js): the buffer is its own, so no snapshot copy. */
export const SET_OWNED = Symbol("webstore.setOwned");

/** A key-value store on the backend webstore chose (or the one asked for). */
export class Store {
  #api; #py; #info; #watches = new Set(); #split;
  /** @internal */
  constructor(api, py) {
    this.#api = api;
    this.#py = py;
    this.#info = py.info();
    this.#split = Boolean(subtle) && this.#info.capabilities.splitValues;
    this.name = undefined;
  }
  /** The backend's name ("indexeddb", "localstorage", "memory"). */
  get backend() { return this.#info.backend; }
  /** `{backend, reason, refused}`: which backend was chosen and why the others were not. */
  get selection() { return this.#info.selection; }
  /** What the backend guarantees: `{persistent, atomicBatches, binarySafe, ...}`. */
  get capabilities() { return this.#info.capabilities; }

  #call(op, ...args) {
    const proxies = args.filter((a) => a && typeof a === "object" && typeof a.destroy === "function");
    return unwrap(this.#py.call(op, ...args.map(noNull)), ...proxies);
  }
  #value(value) { return toPython(value); }

  /** The value of `key`, or `undefined` when it is missing. */
  async get(key) {
    if (this.#split) {
      const [found, value, parts] = await this.#call("get_parts", key);
      if (parts) return fromParts(key, parts);
      return found ? fromPython(value) : undefined;
    }
    const [found, value] = await this.#call("get", key);
    return found ? fromPython(value) : undefined;
  }
  /** Store `value` under `key`; resolves once the write is durable. */
  set(key, value) { return this.#set(key, value, true); }
  /** @internal worker.js: `set` of a value only this context holds (a structured clone). */
  [SET_OWNED](key, value) { return this.#set(key, value, false); }
  async #set(key, value, snapshot) {
    const kind = this.#split ? splitKind(value) : null;
    if (kind) {
      // The snapshot: the caller may change its array before the write settles.
      const copy = snapshot ? value.slice(0) : value;
      const digest = new Uint8Array(await subtle.digest("SHA-256", copy));
      return this.#call("set_parts", key, kind, digest, copy);
    }
    return this.#call("set", key, this.#value(value));
  }
  /** Remove `key` (a missing key is not an error). */
  delete(key) { return this.#call("delete", key); }
  /** Whether `key` holds a value. */
  has(key) { return this.#call("has", key); }
  /** Keys starting with `prefix`, sorted by code point. */
  keys(prefix = "") { return this.#call("keys", prefix); }
  /** `[key, value]` pairs whose key starts with `prefix`, sorted by key. */
  async entries(prefix = "") { return fromPython(await this.#call("entries", prefix)); }
  /** Store every pair atomically (all or nothing): an array of pairs, a Map or an object. */
  async setMany(entries) {
    const pairs = entries instanceof Map ? [...entries]
      : Array.isArray(entries) ? entries : Object.entries(entries ?? {});
    const binary = pairs.every((p) => Array.isArray(p) && p.length === 2)
      && binaryBatch(pairs.map((p) => p[1]));
    if (binary) return this.#call("set_many_binary", keyList(pairs.map((p) => p[0])), ...binary);
    return this.#call("set_many", toPython(pairs, "entries"));
  }
  /** Values of `keys` in order (`undefined` for missing ones), from one snapshot. */
  async getMany(keys) {
    const answer = await this.#call("get_many", keyList(keys));
    if (isBinaryBatch(answer)) return fromBinaryBatch(answer);
    const found = fromPython(answer);
    return found.map(([ok, value]) => (ok ? value : undefined));
  }
  /** Remove every key atomically. */
  deleteMany(keys) { return this.#call("delete_many", keyList(keys)); }
  /**
   * Delete the files of deleted and overwritten large values (IndexedDB keeps values of
   * megabytes on OPFS where that is faster; `largeValues` says where); resolves to how many.
   * Safe while other tabs and workers write.
   */
  collect() { return this.#call("collect"); }
  /** Where values of megabytes are kept, and why (e.g. on OPFS, measured faster here). */
  get largeValues() { return this.#info.largeValues; }
  /** Remove every key of this store (reported to watchers as a delete of each key). */
  clear() { return this.#call("clear"); }
  /**
   * Call `callback(changes)` after each durable write to this store, here or (in browsers)
   * in another tab or worker: one call per atomic batch, `changes` being
   * `[{key, type: "set" | "delete"}]` for the keys starting with `prefix` (batches touching
   * none are not reported). Values are not included: read them. Returns the unsubscribe
   * function.
   */
  watch(callback, { prefix = "" } = {}) {
    return subscribe(this.#py, this.#watches, callback, callback, prefix);
  }
  /** Stop every watch and close the store; later calls reject with StoreClosed. */
  close() {
    for (const stop of [...this.#watches]) stop();
    return this.#call("close");
  }
  /** `{estimate: {usage, quota} | null, persisted: boolean | null}` of the origin. */
  storageInfo() { return this.#call("estimate"); }
  /** Ask the browser not to evict this origin's data (`null` where there is no such API). */
  persist() { return this.#call("persist"); }
}

/**
 * Open the store `name`. Options: `backend` ("indexeddb", "localstorage", "memory"; default:
 * the best that works here), `path` (database name / key prefix / memory space),
 * `onProgress({fraction, phase})` while Python loads, and loader options `indexURL`/`distURL`.
 * `worker: true` runs the engine in the page's shared webstore worker (client.js; same API).
 */
export async function open(name = "default", options = {}) {
  if (options.worker) return (await import("./client.js")).open(name, options);
  const api = await runtime(options);
  const answer = await api.py.open_kv(...openArgs(name, options));
  const py = await unwrapOpen(answer);
  const store = new Store(api, py);
  store.name = String(name);
  return store;
}

async function unwrapOpen(answer) {
  if (Array.isArray(answer)) return unwrap(Promise.resolve(answer));
  return answer;
}

// -- idb-keyval style functions on a lazily opened default store --------------------------

let defaultStore;
/** The store the functions below use when none is given (opened on first use). */
export function defaultStoreOf() {
  defaultStore ??= open("default");
  return defaultStore;
}
export async function get(key, store) { return (await (store ?? defaultStoreOf())).get(key); }
export async function set(key, value, store) {
  return (await (store ?? defaultStoreOf())).set(key, value);
}
export async function del(key, store) { return (await (store ?? defaultStoreOf())).delete(key); }
export async function keys(store) { return (await (store ?? defaultStoreOf())).keys(); }
export async function entries(store) { return (await (store ?? defaultStoreOf())).entries(); }
export async function setMany(pairs, store) {
  return (await (store ?? defaultStoreOf())).setMany(pairs);
}
export async function getMany(list, store) {
  return (await (store ?? defaultStoreOf())).getMany(list);
}
export async function delMany(list, store) {
  return (await (store ?? defaultStoreOf())).deleteMany(list);
}
export async function clear(store) { return (await (store ?? defaultStoreOf())).clear(); }

// -- versioned store ----------------------------------------------------------------------

/** A read-only snapshot: a commit (time travel) or the current head of a branch. */
export class View {
  /** @internal */
  constructor(repo, rev, isBranch) { this.repo = repo; this.rev = rev; this.isBranch = isBranch; }
  /** Value at `path`, `undefined` when there is none. */
  async get(path) {
    const [found, value] = await this.repo._call("get", this.rev, this.isBranch, path);
    return found ? value : undefined;
  }
  /** Every `[path, value]` under `prefix`. */
  items(prefix = "") { return this.repo._call("items", this.rev, this.isBranch, prefix); }
  /** Children of `path` as `[name, "value" | "tree"]`. */
  list(path = "") { return this.repo._call("list", this.rev, this.isBranch, path); }
}

/** A branch: path reads, committing writes, history, merge and watch. */
export class Branch extends View {
  /** @internal */
  constructor(repo, name) { super(repo, name, true); this.name = name; }
  /** Commit id (64 hex digits) of the head, `null` before the first commit. */
  head() { return this.repo._call("head", this.name); }
  /** Commit `value` at `path`; resolves to the new commit id. */
  async set(path, value, { message } = {}) {
    return this.repo._call("set", this.name, path, this.repo._value(value), message ?? null);
  }
  /** Commit several changes as one commit (`null`/`undefined` value: remove the path). */
  async setMany(changes, { message } = {}) {
    const pairs = (changes instanceof Map ? [...changes] : Array.isArray(changes) ? changes
      : Object.entries(changes)).map(([p, v]) => [p, v === undefined ? null : v]);
    return this.repo._call("set_many", this.name, this.repo._value(pairs, "changes"),
      message ?? null);
  }
  /** Commit the removal of `path` (a value or a subtree). */
  remove(path, { message } = {}) { return this.repo._call("remove", this.name, path, message ?? null); }
  /** Commits of the branch, newest first: `{entries: [{id, message, time, author, parents}], cursor}`. */
  history({ limit = 50, cursor = null } = {}) {
    return this.repo._call("history", this.name, limit, cursor);
  }
  /** Merge a branch or commit into this branch. */
  merge(source, options) { return this.repo.merge(this.name, source, options); }
  /** Changes from `other` (a branch or commit) to this branch. */
  diff(other, options) { return this.repo.diff(other, this.name, options); }
  /** Create the branch `name` at this branch's head. */
  async fork(name) {
    await this.repo._call("create_branch", name, this.name);
    return this.repo.branch(name);
  }
  /**
   * Call `callback({old, new, changes})` after each durable move of this branch, here or
   * (in browsers) in another tab. Returns the unsubscribe function.
   */
  watch(callback, { prefix = "" } = {}) { return this.repo._watch(this.name, callback, prefix); }
}

/** A versioned store: Git-format commits over the same storage as the key-value store. */
export class Repo {
  #api; #py; #watches = new Set();
  /** @internal */
  constructor(api, py, name) { this.#api = api; this.#py = py; this.name = name; }
  /** @internal */
  _call(op, ...args) {
    const proxies = args.filter((a) => a && typeof a === "object" && typeof a.destroy === "function");
    return unwrap(this.#py.call(op, ...args.map(noNull)), ...proxies);
  }
  /** @internal */
  _value(value, path) { return toPython(value, path); }
  /** @internal */
  _watch(branch, callback, prefix) {
    const deliver = (old, next, changes) => callback({ old, new: next, changes });
    return subscribe(this.#py, this.#watches, callback, branch, deliver, prefix);
  }
  /** The branch `name` (created by its first write). */
  branch(name = "main") { return new Branch(this, name); }
  /** Names of all branches. */
  branches() { return this._call("branches"); }
  /** Create branch `name` at `start` (a branch or commit id; none: an empty branch). */
  async createBranch(name, start = null) {
    await this._call("create_branch", name, start);
    return this.branch(name);
  }
  /** Delete a branch (its commits stay). */
  deleteBranch(name) { return this._call("delete_branch", name); }
  /** Read-only view of a commit id (time travel) or of a branch head. */
  at(rev) { return new View(this, rev, false); }
  /** History of a branch or commit, newest first. */
  history(rev = "main", { limit = 50, cursor = null } = {}) {
    return this._call("history", rev, limit, cursor);
  }
  /**
   * Changes from `older` to `newer` (branches or commit ids; `null`: empty) as
   * `{type: "added"|"removed"|"updated", path, value | old, new}`.
   */
  diff(older, newer, { prefix = "" } = {}) { return this._call("diff", older, newer, prefix); }
  /**
   * Three-way merge of `source` into branch `into`. Resolves to `{ok, commit, fastForward,
   * changed, conflicts: [{path, base, ours, theirs}]}`; each side is `{kind: "value", value}`,
   * `{kind: "absent"}` or `{kind: "subtree"}`. With conflicts nothing is committed.
   */
  merge(into, source, { message } = {}) { return this._call("merge", into, source, message ?? null); }
  /**
   * Send `branch` (default "main") to the Git server at `url`, as its branch `to` (default
   * the same name). Only a fast-forward is pushed: if the server's branch moved, this rejects
   * with RefMoved (pull, then push again). Options: `username`, `password` (kept for this
   * call only, never in an error), `headers`, `corsProxy`, `onProgress({phase, objects})`
   * (phases "counted", "sent"). Resolves to a merge result (`changed: false` when the server
   * already had it).
   */
  push(url, { branch = "main", to, ...options } = {}) {
    return this._call("push", branch, to ?? null, remoteArgs(url, options));
  }
  /**
   * Fetch the server's branch `source` (default `branch`, default "main") and fast-forward
   * or three-way merge it into `branch`. Resolves to `{ok, commit, fastForward, changed,
   * conflicts}` like {@link Repo#merge}: with conflicts nothing is committed. Options as
   * {@link Repo#push}; progress phases "wanted", "received", "stored".
   */
  pull(url, { branch = "main", source, ...options } = {}) {
    return this._call("pull", branch, source ?? null, remoteArgs(url, options));
  }
  /**
   * Store what the server's branches and tags need, moving no local branch. Resolves to
   * `{refs: {"heads/main": commitId, "tags/v1": commitId, ...}}`.
   */
  fetch(url, options = {}) { return this._call("fetch", remoteArgs(url, options)); }
  /** Stop every watch and close the storage this repo opened. */
  async close() {
    for (const stop of [...this.#watches]) stop();
    await this._call("close");
  }
}

/**
 * Open the versioned store `name` (same options as {@link open}, plus `objectFormat`:
 * "sha256" or "sha1", chosen when the repo is created; default: the stored one, SHA-256 for a
 * new repo).
 */
export async function openRepo(name = "default", options = {}) {
  if (options.worker) return (await import("./client.js")).openRepo(name, options);
  const api = await runtime(options);
  const answer = await api.py.open_repo(...openArgs(name, options),
    options.objectFormat ?? undefined);
  const py = await unwrapOpen(answer);
  return new Repo(api, py, String(name));
}

/**
 * Copy every branch and tag of the Git server repo at `url` into the local repo `name`
 * (branches absent or equal there) and open it. Options: those of {@link openRepo} (with
 * `objectFormat` defaulting to the server's) and of {@link Repo#push}.
 */
export async function cloneRepo(url, name = "default", options = {}) {
  if (options.worker) return (await import("./client.js")).cloneRepo(url, name, options);
  const remote = remoteArgs(url, options);
  const api = await runtime(options);
  const answer = await api.py.clone_repo(remote, ...openArgs(name, options),
    options.objectFormat ?? undefined);
  const py = await unwrapOpen(answer);
  return new Repo(api, py, String(name));
}
