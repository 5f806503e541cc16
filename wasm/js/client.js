// The page side of worker mode: `open(name, { worker: true })` (and openRepo, cloneRepo) run
// Pyodide and webstore in one dedicated module worker per page (worker.js), shared by every
// store opened that way. The classes here mirror Store, Repo, Branch and View of index.js:
// same methods, same results, errors of the same class with the same fields.
//
// What crosses postMessage:
//   page -> worker  the arguments, structured-cloned (the caller keeps its buffers). With
//                   `transfer: true` at open, the ArrayBuffers under value arguments (set,
//                   setMany) are transferred instead: no copy, and the caller's typed arrays
//                   are detached (length 0) once the call is sent. The whole buffer under a view
//                   moves, so other views on it are detached too.
//   worker -> page  results and watch events; their ArrayBuffers are always transferred (the
//                   worker made them for this answer and keeps no reference).
// Nothing here judges values: values.js and the Python codec do that in the worker, as on the
// main thread. A value structured clone refuses (a function, a symbol, a DOM node) fails at
// postMessage; that DataCloneError becomes UnsupportedValue naming the type and the path, as
// values.js would. One known difference: a class instance crosses as a plain object (structured
// clone drops prototypes), so worker mode stores what the main thread refuses.
//
// Faults: if the worker stops (terminated, an uncaught error, Pyodide's fatal error), every
// pending call rejects with StorageUnavailable (backend "worker"); the next call starts a fresh
// worker, re-opens the store there and re-subscribes its watches. Writes that resolved are
// durable (IndexedDB); one that was pending may or may not have been applied.
// A worker can also stop with no event at all (Worker.terminate() by other code, killed by the
// browser, out of memory). It is noticed without polling through a Web Lock: the worker holds
// a lock of a unique name for its whole life and says so; the page then requests the same lock,
// which is granted only once the worker is gone. Without navigator.locks (an insecure context,
// an old engine) only error events are noticed, and a call pending in a worker stopped that way
// stays pending.
import { InvalidArgument, StorageUnavailable, StoreClosed, UnsupportedValue, fromEnvelope }
  from "./errors.js";

const BUILTIN_ERRORS = { TypeError, RangeError, SyntaxError, ReferenceError, URIError, EvalError };
const PLAIN = (v) => { const p = Object.getPrototypeOf(v); return p === Object.prototype || p === null; };

let connection = null; // the page's one live worker
let nextId = 1;

/** A name no other worker of this origin (any tab) holds. */
function uniqueName() {
  const id = globalThis.crypto?.randomUUID?.()
    ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `webstore-worker-${id}`;
}

/** The JS error for a worker's `{name, message, fields}`: the webstore class, or a builtin. */
function revive({ name, message, fields }) {
  const Builtin = BUILTIN_ERRORS[name];
  if (!Builtin) return fromEnvelope([false, name, message, fields]);
  return Object.assign(new Builtin(message), fields);
}

/** `[type name, path]` of the first thing structured clone refuses in `value`, or null. */
function uncloneable(value, path, seen = new Set()) {
  if (typeof value === "function" || typeof value === "symbol") return [typeof value, path];
  if (typeof value !== "object" || value === null || seen.has(value)) return null;
  seen.add(value);
  if (Array.isArray(value) || PLAIN(value)) {
    for (const [k, v] of Object.entries(value)) {
      const at = Array.isArray(value) ? `${path}[${k}]` : `${path}[${JSON.stringify(k)}]`;
      const hit = uncloneable(v, at, seen);
      if (hit) return hit;
    }
    return null;
  }
  try { structuredClone(value); return null; } catch {
    return [value.constructor?.name ?? "object", path];
  }
}

/** The ArrayBuffers under `value` (typed arrays, ArrayBuffers, in arrays and plain objects). */
function buffersIn(value, out) {
  if (typeof value !== "object" || value === null) return out;
  if (value instanceof ArrayBuffer) out.add(value);
  else if (ArrayBuffer.isView(value)) { if (value.buffer instanceof ArrayBuffer) out.add(value.buffer); }
  else if (Array.isArray(value) || PLAIN(value)) for (const v of Object.values(value)) buffersIn(v, out);
  return out;
}

/** One worker and the calls waiting on it. */
class Connection {
  constructor() {
    this.pending = new Map(); // id -> {resolve, reject, callbacks, what}
    this.watches = new Map(); // watch id -> callback
    this.dead = null; // why it stopped
    this.worker = new Worker(new URL("./worker.js", import.meta.url),
      { type: "module", name: "webstore" });
    this.worker.onmessage = ({ data }) => this.#receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault?.();
      this.die(`stopped on an uncaught error (${event.message || "the worker script failed to load"})`);
    };
    this.worker.onmessageerror = () => this.die("sent a message the page could not read");
    this.lockName = null; // the Web Lock the worker holds while it lives (see "Faults")
    this.unwatchLock = null;
    if (typeof globalThis.navigator?.locks?.request === "function") {
      this.lockName = uniqueName();
      this.worker.postMessage({ lock: this.lockName }); // the worker's first message
    }
  }

  /** The worker holds its lock: request it too; the grant means the worker is gone. */
  #watchLock() {
    const abort = new AbortController();
    this.unwatchLock = () => abort.abort();
    navigator.locks.request(this.lockName, { signal: abort.signal }, () => {
      this.die("stopped (its Web Lock was released: terminated by other code, killed by the "
        + "browser or out of memory)");
    }).catch(() => {}); // aborted: the page stopped the worker itself
  }

  #receive(msg) {
    if (msg.holding !== undefined) {
      if (msg.holding === this.lockName && !this.dead) this.#watchLock();
      return;
    }
    if (msg.fatal) { this.die(`stopped: ${msg.fatal}`); return; }
    if (msg.watch !== undefined) { this.watches.get(msg.watch)?.(msg.value); return; }
    const call = this.pending.get(msg.id);
    if (!call) return;
    if (msg.callback) { call.callbacks[msg.callback]?.(msg.value); return; }
    this.pending.delete(msg.id);
    if (msg.ok) call.resolve(msg.value);
    else call.reject(revive(msg.error));
  }

  /** Stop the worker; every pending call rejects, the next call starts a new worker. */
  die(reason) {
    if (this.dead) return;
    this.dead = reason;
    this.worker.terminate();
    this.unwatchLock?.();
    if (connection === this) connection = null;
    for (const { reject, what } of this.pending.values()) {
      reject(new StorageUnavailable(`webstore worker ${reason} during ${what}; the call may `
        + "or may not have been applied (the next call starts a new worker)",
      { backend: "worker", reason }));
    }
    this.pending.clear();
    this.watches.clear();
  }

  /**
   * Call `method` on the worker's object `target` (0: the module; `via`: a branch or view of
   * it). `spec.names` names the arguments (for errors), `spec.values` the indexes whose buffers
   * are transferred when `spec.transfer`, `spec.optionsAt` the options argument whose function
   * properties become callbacks.
   */
  request(target, via, method, args, spec = {}) {
    const what = `${spec.label ?? ""}${method}()`;
    if (this.dead) return Promise.reject(new StorageUnavailable(`webstore worker ${this.dead}`, { backend: "worker", reason: this.dead }));
    const id = nextId++;
    const callbacks = {};
    const sent = [...args];
    const at = spec.optionsAt;
    if (at !== undefined && sent[at] && typeof sent[at] === "object") {
      const options = { ...sent[at] };
      for (const [key, fn] of Object.entries(options)) {
        if (typeof fn === "function") { callbacks[key] = fn; delete options[key]; }
      }
      sent[at] = options;
    }
    const transfer = new Set();
    if (spec.transfer) for (const i of spec.values ?? []) buffersIn(sent[i], transfer);
    return new Promise((resolve, reject) => {
      try {
        this.worker.postMessage({ id, target, via, method, args: sent,
          callbacks: Object.keys(callbacks), optionsAt: at }, [...transfer]);
      } catch (error) {
        if (error?.name !== "DataCloneError") throw error;
        for (const [i, arg] of sent.entries()) {
          const hit = uncloneable(arg, spec.names?.[i] ?? `argument ${i}`);
          if (hit) {
            reject(new UnsupportedValue(`values of type ${hit[0]} cannot be stored at ${hit[1]}`,
              { type_name: hit[0], path: hit[1] }));
            return;
          }
        }
        reject(new UnsupportedValue(`${what}: ${error.message}`, { type_name: "object", path: spec.names?.[0] ?? "value" }));
        return;
      }
      this.pending.set(id, { resolve, reject, callbacks, what });
    });
  }
}

function live() {
  if (typeof Worker === "undefined") {
    throw new InvalidArgument("worker: true needs Web Workers (a browser); this runtime has none",
      { argument: "worker" });
  }
  connection ??= new Connection();
  return connection;
}

/** Open options as the worker needs them: no `worker`, loader URLs absolute to this page. */
function forWorker(options) {
  const out = { ...options, worker: false, transfer: undefined, stdout: undefined, stderr: undefined };
  for (const key of ["indexURL", "distURL"]) {
    if (out[key] != null) out[key] = new URL(String(out[key]), globalThis.location?.href).href;
  }
  if (out.onProgress != null && typeof out.onProgress !== "function") {
    throw new TypeError("onProgress must be a function");
  }
  return out;
}

/** A store or repo in the worker: re-opened in a fresh worker after the old one stopped. */
class Endpoint {
  constructor(method, name, options, conn, handle) {
    this.method = method; // "open" | "openRepo"
    this.name = name;
    this.options = { ...options, onProgress: undefined };
    this.transfer = !!options.transfer;
    this.conn = conn;
    this.handle = handle;
    this.closed = false;
    this.opening = null;
    this.watches = new Map(); // watch id -> {via, callback, options}
  }

  async #ready() {
    if (this.conn && !this.conn.dead) return;
    if (this.closed) throw new StoreClosed(`${this.name} is closed`);
    this.opening ??= (async () => {
      const conn = live();
      const { handle } = await conn.request(0, null, this.method,
        [this.name, forWorker(this.options)], { optionsAt: 1 });
      this.conn = conn;
      this.handle = handle;
      for (const [wid, w] of this.watches) this.#subscribe(wid, w);
    })().finally(() => { this.opening = null; });
    await this.opening;
  }

  async call(method, args, spec = {}) {
    await this.#ready();
    return this.conn.request(this.handle, spec.via ?? null, method, args,
      { ...spec, transfer: this.transfer, label: spec.via ? `${spec.via[0]}(${JSON.stringify(spec.via[1])}).` : "" });
  }

  #subscribe(wid, { via, callback, options }) {
    const conn = this.conn;
    conn.watches.set(wid, callback);
    conn.request(this.handle, via, "watch", [wid, options]).catch((error) => {
      if (conn.dead) return; // kept: the next worker subscribes it again
      this.watches.delete(wid);
      conn.watches.delete(wid);
      reportError(error); // the main thread's watch throws this synchronously
    });
  }

  /** Start a watch now (ordered before any later call); returns the unsubscribe function. */
  watch(via, callback, options) {
    if (typeof callback !== "function") throw new TypeError("watch: callback must be a function");
    const wid = nextId++;
    const entry = { via, callback, options: { prefix: options?.prefix ?? "" } };
    this.watches.set(wid, entry);
    if (this.conn && !this.conn.dead) this.#subscribe(wid, entry);
    else this.#ready().catch(() => {});
    return () => {
      if (!this.watches.delete(wid)) return;
      this.conn?.watches.delete(wid);
      if (this.conn && !this.conn.dead) this.conn.request(this.handle, via, "unwatch", [wid]).catch(() => {});
    };
  }

  async close() {
    this.watches.clear();
    if (this.closed && (!this.conn || this.conn.dead)) return;
    const done = this.call("close", []);
    this.closed = true;
    await done;
  }
}

async function openIn(method, args, options) {
  const conn = live();
  const answer = await conn.request(0, null, method, args, { optionsAt: args.length - 1 });
  return [conn, answer];
}

/** A key-value store whose engine runs in the page's webstore worker. */
export class WorkerStore {
  #end;
  /** @internal */
  constructor(end, info) {
    this.#end = end;
    this.name = end.name;
    this.backend = info.backend;
    this.selection = info.selection;
    this.capabilities = info.capabilities;
    this.largeValues = info.largeValues;
  }
  #call(method, args, spec) { return this.#end.call(method, args, spec); }
  get(key) { return this.#call("get", [key], { names: ["key"] }); }
  set(key, value) { return this.#call("set", [key, value], { names: ["key", "value"], values: [1] }); }
  delete(key) { return this.#call("delete", [key], { names: ["key"] }); }
  has(key) { return this.#call("has", [key], { names: ["key"] }); }
  keys(prefix = "") { return this.#call("keys", [prefix], { names: ["prefix"] }); }
  entries(prefix = "") { return this.#call("entries", [prefix], { names: ["prefix"] }); }
  setMany(entries) {
    const pairs = entries instanceof Map ? [...entries]
      : Array.isArray(entries) ? entries : Object.entries(entries ?? {});
    return this.#call("setMany", [pairs], { names: ["entries"], values: [0] });
  }
  getMany(keys) { return this.#call("getMany", [[...keys]], { names: ["keys"] }); }
  deleteMany(keys) { return this.#call("deleteMany", [[...keys]], { names: ["keys"] }); }
  clear() { return this.#call("clear", []); }
  collect() { return this.#call("collect", []); }
  watch(callback, { prefix = "" } = {}) { return this.#end.watch(null, callback, { prefix }); }
  close() { return this.#end.close(); }
  storageInfo() { return this.#call("storageInfo", []); }
  persist() { return this.#call("persist", []); }
}

/** A read-only snapshot (a commit or a branch head) in the worker's repo. */
export class WorkerView {
  /** @internal */
  constructor(repo, via) { this.repo = repo; this._via = via; }
  get(path) { return this.repo._end.call("get", [path], { via: this._via, names: ["path"] }); }
  items(prefix = "") { return this.repo._end.call("items", [prefix], { via: this._via }); }
  list(path = "") { return this.repo._end.call("list", [path], { via: this._via }); }
}

/** A branch of the worker's repo. */
export class WorkerBranch extends WorkerView {
  /** @internal */
  constructor(repo, name) { super(repo, ["branch", name]); this.name = name; }
  #call(method, args, spec = {}) { return this.repo._end.call(method, args, { via: this._via, ...spec }); }
  head() { return this.#call("head", []); }
  set(path, value, options = {}) {
    return this.#call("set", [path, value, options], { names: ["path", "value", "options"], values: [1] });
  }
  setMany(changes, options = {}) {
    const pairs = (changes instanceof Map ? [...changes] : Array.isArray(changes) ? changes
      : Object.entries(changes)).map(([p, v]) => [p, v === undefined ? null : v]);
    return this.#call("setMany", [pairs, options], { names: ["changes", "options"], values: [0] });
  }
  remove(path, options = {}) { return this.#call("remove", [path, options]); }
  history(options = {}) { return this.#call("history", [options]); }
  merge(source, options) { return this.repo.merge(this.name, source, options); }
  diff(other, options) { return this.repo.diff(other, this.name, options); }
  async fork(name) {
    await this.#call("fork", [name]);
    return this.repo.branch(name);
  }
  watch(callback, { prefix = "" } = {}) { return this.repo._end.watch(this._via, callback, { prefix }); }
}

/** A versioned store whose engine runs in the page's webstore worker. */
export class WorkerRepo {
  /** @internal */
  constructor(end) { this._end = end; this.name = end.name; }
  #call(method, args, spec) { return this._end.call(method, args, spec); }
  branch(name = "main") { return new WorkerBranch(this, name); }
  branches() { return this.#call("branches", []); }
  async createBranch(name, start = null) {
    await this.#call("createBranch", [name, start]);
    return this.branch(name);
  }
  deleteBranch(name) { return this.#call("deleteBranch", [name]); }
  at(rev) { return new WorkerView(this, ["at", rev]); }
  history(rev = "main", options = {}) { return this.#call("history", [rev, options]); }
  diff(older, newer, options = {}) { return this.#call("diff", [older, newer, options]); }
  merge(into, source, options = {}) { return this.#call("merge", [into, source, options]); }
  push(url, options = {}) { return this.#call("push", [String(url), options], { optionsAt: 1 }); }
  pull(url, options = {}) { return this.#call("pull", [String(url), options], { optionsAt: 1 }); }
  fetch(url, options = {}) { return this.#call("fetch", [String(url), options], { optionsAt: 1 }); }
  close() { return this._end.close(); }
}

/** `open(name, {worker: true, ...})` of index.js. */
export async function open(name = "default", options = {}) {
  const [conn, { handle, info }] = await openIn("open", [String(name), forWorker(options)], options);
  return new WorkerStore(new Endpoint("open", String(name), options, conn, handle), info);
}

/** `openRepo(name, {worker: true, ...})` of index.js. */
export async function openRepo(name = "default", options = {}) {
  const [conn, { handle }] = await openIn("openRepo", [String(name), forWorker(options)], options);
  return new WorkerRepo(new Endpoint("openRepo", String(name), options, conn, handle));
}

/** `cloneRepo(url, name, {worker: true, ...})` of index.js; re-opened later as openRepo. */
export async function cloneRepo(url, name = "default", options = {}) {
  const [conn, { handle }] = await openIn("cloneRepo",
    [String(url), String(name), forWorker(options)], options);
  const { username, password, headers, corsProxy, ...kept } = options;
  return new WorkerRepo(new Endpoint("openRepo", String(name), kept, conn, handle));
}

/** Test hook: terminate the page's webstore worker as a crash would (pending calls reject). */
export function __debugTerminateWorker() {
  connection?.die("was terminated");
}

/** Test hook: make the worker throw an uncaught error (the page notices and replaces it). */
export function __debugCrashWorker() {
  connection?.worker.postMessage({ id: 0, debug: "crash" });
}

/**
 * Test hook: the page's current webstore Worker object, or null. Calling its `terminate()`
 * stops the worker with no error event, as other code or the browser could; the page notices
 * through the worker's Web Lock.
 */
export function __debugWorker() { return connection?.worker ?? null; }
