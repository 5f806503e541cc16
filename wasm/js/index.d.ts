// Types of the webstore JavaScript API (hand-written; see index.js).

export type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array
  | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** What can be stored. Dates are refused: store `toISOString()` or `getTime()`. */
export type Value =
  | null | boolean | number | string | bigint | ArrayBuffer | TypedArray
  | Value[] | { [key: string]: Value | undefined };

export type BackendName = "indexeddb" | "localstorage" | "memory" | (string & {});

export interface Progress { fraction: number; phase: string; }

export interface OpenOptions {
  backend?: BackendName;
  path?: string;
  onProgress?: (progress: Progress) => void;
  indexURL?: string | URL;
  distURL?: string | URL;
  pureMsgpack?: boolean;
  /**
   * Run Pyodide and webstore in the page's one shared webstore module worker (default false):
   * the same API, without Python work on the UI thread. Results' buffers are transferred to
   * the page; values passed in are cloned unless `transfer` is true. Needs Web Workers.
   */
  worker?: boolean;
  /**
   * With `worker: true`: transfer (not copy) the ArrayBuffers under the values given to `set`
   * and `setMany`; the caller's typed arrays are detached once the call is sent.
   */
  transfer?: boolean;
}

export interface Selection { backend: string; reason: string; refused: Record<string, string>; }
export interface Capabilities {
  persistent: boolean; atomicBatches: boolean; binarySafe: boolean;
  maxValueBytes?: number; shared: boolean;
  /** Large typed arrays and ArrayBuffers are stored without entering WebAssembly (IndexedDB). */
  splitValues: boolean;
}
export interface StorageInfo {
  estimate: { usage: number; quota: number } | null;
  persisted: boolean | null;
}

/** One key an atomic write set or deleted (values are not sent: read them). */
export interface KeyChange { key: string; type: "set" | "delete"; }

export class Store {
  private constructor();
  readonly name: string;
  readonly backend: string;
  readonly selection: Selection;
  readonly capabilities: Capabilities;
  get<T = Value>(key: string): Promise<T | undefined>;
  set(key: string, value: Value): Promise<void>;
  delete(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
  keys(prefix?: string): Promise<string[]>;
  entries<T = Value>(prefix?: string): Promise<[string, T][]>;
  setMany(entries: Iterable<[string, Value]> | Map<string, Value> | Record<string, Value>): Promise<void>;
  getMany<T = Value>(keys: Iterable<string>): Promise<(T | undefined)[]>;
  deleteMany(keys: Iterable<string>): Promise<void>;
  clear(): Promise<void>;
  /** Delete the OPFS files of deleted and overwritten large values; resolves to how many. */
  collect(): Promise<number>;
  /** Where values of megabytes are kept, and why ("values of 1048576 bytes or more on OPFS"). */
  readonly largeValues: string;
  /**
   * Called once per durable atomic write (here or in another tab or worker) with the keys
   * under `prefix`. Returns the unsubscribe function.
   */
  watch(callback: (changes: KeyChange[]) => void | Promise<void>,
    options?: { prefix?: string }): () => void;
  close(): Promise<void>;
  storageInfo(): Promise<StorageInfo>;
  persist(): Promise<boolean | null>;
}

export function open(name?: string, options?: OpenOptions): Promise<Store>;
export function runtime(options?: OpenOptions): Promise<{ pyodide: unknown; py: unknown }>;

export function defaultStoreOf(): Promise<Store>;
export function get<T = Value>(key: string, store?: Store | Promise<Store>): Promise<T | undefined>;
export function set(key: string, value: Value, store?: Store | Promise<Store>): Promise<void>;
export function del(key: string, store?: Store | Promise<Store>): Promise<void>;
export function keys(store?: Store | Promise<Store>): Promise<string[]>;
export function entries<T = Value>(store?: Store | Promise<Store>): Promise<[string, T][]>;
export function setMany(entries: Iterable<[string, Value]> | Record<string, Value>, store?: Store | Promise<Store>): Promise<void>;
export function getMany<T = Value>(keys: Iterable<string>, store?: Store | Promise<Store>): Promise<(T | undefined)[]>;
export function delMany(keys: Iterable<string>, store?: Store | Promise<Store>): Promise<void>;
export function clear(store?: Store | Promise<Store>): Promise<void>;

/** A commit id: 64 hexadecimal digits (SHA-256), 40 in a SHA-1 repo (Git object format). */
export type CommitId = string;

export interface LogEntry {
  id: CommitId; message: string; time: number;
  author: { name: string; email: string }; parents: CommitId[];
}
export interface HistoryPage { entries: LogEntry[]; cursor: string | null; }

export type Change =
  | { type: "added"; path: string; value: Value }
  | { type: "removed"; path: string; value: Value }
  | { type: "updated"; path: string; old: Value; new: Value };

export type Side = { kind: "value"; value: Value } | { kind: "absent" } | { kind: "subtree" };
export interface MergeConflict { path: string; base: Side; ours: Side; theirs: Side; }
export interface MergeResult {
  ok: boolean; commit: CommitId | null; fastForward: boolean; changed: boolean;
  conflicts: MergeConflict[];
}
export interface WatchEvent { old: CommitId | null; new: CommitId | null; changes: Change[]; }

export class View {
  protected constructor();
  get<T = Value>(path: string): Promise<T | undefined>;
  items<T = Value>(prefix?: string): Promise<[string, T][]>;
  list(path?: string): Promise<[string, "value" | "tree"][]>;
}

export class Branch extends View {
  readonly name: string;
  head(): Promise<CommitId | null>;
  set(path: string, value: Value, options?: { message?: string }): Promise<CommitId>;
  setMany(changes: Iterable<[string, Value | undefined]> | Record<string, Value | undefined>,
    options?: { message?: string }): Promise<CommitId | null>;
  remove(path: string, options?: { message?: string }): Promise<CommitId | null>;
  history(options?: { limit?: number; cursor?: string | null }): Promise<HistoryPage>;
  merge(source: string, options?: { message?: string }): Promise<MergeResult>;
  diff(other: string, options?: { prefix?: string }): Promise<Change[]>;
  fork(name: string): Promise<Branch>;
  /** Returns the unsubscribe function. */
  watch(callback: (event: WatchEvent) => void, options?: { prefix?: string }): () => void;
}

export class Repo {
  private constructor();
  readonly name: string;
  branch(name?: string): Branch;
  branches(): Promise<string[]>;
  createBranch(name: string, start?: string | null): Promise<Branch>;
  deleteBranch(name: string): Promise<void>;
  at(rev: CommitId | string): View;
  history(rev?: string, options?: { limit?: number; cursor?: string | null }): Promise<HistoryPage>;
  diff(older: string | null, newer: string | null, options?: { prefix?: string }): Promise<Change[]>;
  merge(into: string, source: string, options?: { message?: string }): Promise<MergeResult>;
  /** Fast-forward the server's branch; rejects with RefMoved when it moved (pull first). */
  push(url: string | URL, options?: PushOptions): Promise<MergeResult>;
  /** Fetch and fast-forward or merge; conflicts are returned, nothing committed then. */
  pull(url: string | URL, options?: PullOptions): Promise<MergeResult>;
  /** Store what the server's refs need; no local branch moves. */
  fetch(url: string | URL, options?: RemoteOptions): Promise<FetchResult>;
  close(): Promise<void>;
}

export type ObjectFormat = "sha256" | "sha1";

export interface RepoOptions extends OpenOptions {
  /** Chosen when the repo is created; default: the stored one (SHA-256 for a new repo). */
  objectFormat?: ObjectFormat;
}

/** `"counted"`/`"sent"` (push), `"wanted"`/`"received"`/`"stored"` (fetch, pull, clone). */
export interface SyncProgress {
  phase: "counted" | "sent" | "wanted" | "received" | "stored" | (string & {});
  objects: number;
}

/** A Git server (smart HTTP). Credentials are used for the call only, never shown in errors. */
export interface RemoteOptions {
  username?: string;
  password?: string;
  headers?: Record<string, string> | Iterable<[string, string]>;
  /** Requests go to `<corsProxy>/<url without scheme>` (the proxy sees the credentials). */
  corsProxy?: string;
  onProgress?: (progress: SyncProgress) => void;
}
export interface PushOptions extends RemoteOptions { branch?: string; to?: string; }
export interface PullOptions extends RemoteOptions { branch?: string; source?: string; }
/** The server's branches and tags (`"heads/main"`, `"tags/v1"`) and their commit ids. */
export interface FetchResult { refs: Record<string, CommitId>; }

export function openRepo(name?: string, options?: RepoOptions): Promise<Repo>;
/** Clone the server's branches and tags into the local repo `name` (format: the server's). */
export function cloneRepo(url: string | URL, name?: string,
  options?: RepoOptions & RemoteOptions): Promise<Repo>;

export class WebstoreError extends Error {
  constructor(message: string, fields?: Record<string, unknown>);
  [field: string]: unknown;
}
export class InvalidArgument extends WebstoreError { argument?: string; }
export class InvalidKey extends WebstoreError { key?: unknown; }
export class KeyNotFound extends WebstoreError { key?: unknown; where?: string; }
export class UnsupportedValue extends WebstoreError { type_name?: string; path?: string; }
export class StorageFull extends WebstoreError { backend?: string; }
export class StorageUnavailable extends WebstoreError { backend?: string; reason?: string; }
export class AuthenticationFailed extends StorageUnavailable {}
export class StoreClosed extends WebstoreError {}
export class IntegrityError extends WebstoreError { key?: unknown; expected?: string; got?: string; }
export class Conflict extends WebstoreError {}
export class RefMoved extends Conflict { ref?: string; }
