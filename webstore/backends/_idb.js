// IndexedDB side of webstore.backends._idb, evaluated once per interpreter by Pyodide.
//
// Every operation is ONE call from Python, running every request inside ONE transaction and
// settling when that transaction fires `complete` (or `abort`/`error`): a Python `await`
// between two requests would let the transaction auto-commit. Values are bytes: one
// Uint8Array per key, never base64. Batches cross the Python/JS boundary as one concatenated
// buffer plus lengths, so 10,000 values cost two copies instead of 10,000 proxies.
//
// Layout: database `location` (default "webstore"), object store "kv", out-of-line string
// keys, values Uint8Array (an ArrayBuffer or other view written by other code is accepted).
(() => {
  const STORE = "kv";

  // An upper bound for keys starting with `prefix`: same string, last code unit + 1.
  // IndexedDB compares strings by UTF-16 code unit, so this range is exactly the prefix.
  function prefixRange(prefix) {
    if (!prefix) return undefined;
    let end = prefix.length;
    while (end > 0 && prefix.charCodeAt(end - 1) === 0xffff) end -= 1;
    if (end === 0) return IDBKeyRange.lowerBound(prefix);
    const upper = prefix.slice(0, end - 1) + String.fromCharCode(prefix.charCodeAt(end - 1) + 1);
    return IDBKeyRange.bound(prefix, upper, false, true);
  }

  // A plain Error carrying the DOMException's name: Pyodide turns it into a JsException
  // whose `.name` Python reads (QuotaExceededError -> StorageFull).
  function named(error, fallback) {
    const e = new Error(error?.message ?? String(error ?? fallback));
    e.name = (typeof error?.name === "string" && error.name) || fallback;
    return e;
  }

  function request(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(named(req.error, "UnknownError"));
    });
  }

  // Open `name`, creating the "kv" store if missing (by bumping the version when the
  // database already exists without it, e.g. created by other page code).
  async function openDB(name, version) {
    const req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
    };
    let blocked = false;
    req.onblocked = () => { blocked = true; };
    let db;
    try {
      db = await request(req);
    } catch (error) {
      if (blocked) error.message = `${error.message} (blocked by another connection)`;
      throw error;
    }
    if (!db.objectStoreNames.contains(STORE)) {
      const next = db.version + 1;
      db.close();
      return openDB(name, next);
    }
    return db;
  }

  // A connection that closes itself when another tab upgrades the database (so that tab is
  // not blocked) or when the browser closes it, and reopens lazily on the next operation.
  async function open(name) {
    const conn = { name, db: null, opening: null, closed: false };
    await ensure(conn);
    return conn;
  }

  async function ensure(conn) {
    if (conn.closed) throw named(null, "InvalidStateError");
    if (conn.db) return conn.db;
    conn.opening ??= openDB(conn.name).then((db) => {
      db.onversionchange = () => { db.close(); if (conn.db === db) conn.db = null; };
      db.onclose = () => { if (conn.db === db) conn.db = null; };
      conn.db = db;
      return db;
    }).finally(() => { conn.opening = null; });
    return conn.opening;
  }

  // Run `body(store)` in one transaction; resolve with its result on `complete`.
  async function transact(conn, mode, body) {
    let db = await ensure(conn);
    let tx;
    try {
      tx = db.transaction(STORE, mode, { durability: "default" });
    } catch (error) { // closed under us (versionchange): reopen once
      if (error?.name !== "InvalidStateError") throw error;
      conn.db = null;
      db = await ensure(conn);
      tx = db.transaction(STORE, mode, { durability: "default" });
    }
    return new Promise((resolve, reject) => {
      let result;
      let firstError = null;
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(named(tx.error ?? firstError, "AbortError"));
      tx.onerror = (event) => { firstError ??= event.target.error; };
      try {
        result = body(tx.objectStore(STORE), (value) => { result = value; });
      } catch (error) {
        firstError = error;
        try { tx.abort(); } catch { /* already finished */ }
        reject(named(error, "DataError"));
      }
    });
  }

  function bytesOf(value) {
    if (value === undefined) return undefined;
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) {
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    const e = new Error(`stored value is ${Object.prototype.toString.call(value)}, not bytes`);
    e.name = "DataError";
    throw e;
  }

  // [lengths (Int32Array, -1 = missing), concatenated bytes] of `values`.
  function pack(values) {
    const lengths = new Int32Array(values.length);
    let total = 0;
    const views = values.map((v, i) => {
      const b = bytesOf(v);
      lengths[i] = b === undefined ? -1 : b.byteLength;
      total += b === undefined ? 0 : b.byteLength;
      return b;
    });
    if (views.length === 1 && views[0] !== undefined) return [lengths, views[0]];
    const blob = new Uint8Array(total);
    let at = 0;
    for (const b of views) {
      if (b !== undefined) { blob.set(b, at); at += b.byteLength; }
    }
    return [lengths, blob];
  }

  function getMany(conn, keys) {
    return transact(conn, "readonly", (store, done) => {
      const values = new Array(keys.length);
      let pending = keys.length;
      if (pending === 0) return pack([]);
      keys.forEach((key, i) => {
        const req = store.get(key);
        req.onsuccess = () => {
          values[i] = req.result;
          if (--pending === 0) done(pack(values));
        };
      });
      return undefined;
    });
  }

  // `lengths[i]` bytes of `blob` per key; a single value is stored without a copy.
  function setMany(conn, keys, blob, lengths) {
    return transact(conn, "readwrite", (store) => {
      if (keys.length === 1 && blob.byteLength === lengths[0] && blob.byteOffset === 0
          && blob.buffer.byteLength === blob.byteLength) {
        store.put(blob, keys[0]);
        return undefined;
      }
      let at = 0;
      keys.forEach((key, i) => {
        store.put(blob.slice(at, at + lengths[i]), key); // slice: own buffer, cloned alone
        at += lengths[i];
      });
      return undefined;
    });
  }

  function deleteMany(conn, keys) {
    return transact(conn, "readwrite", (store) => {
      for (const key of keys) store.delete(key);
    });
  }

  function deletePrefix(conn, prefix) {
    return transact(conn, "readwrite", (store) => {
      const range = prefixRange(prefix);
      if (range === undefined) store.clear(); else store.delete(range);
    });
  }

  function keys(conn, prefix) {
    return transact(conn, "readonly", (store, done) => {
      const req = store.getAllKeys(prefixRange(prefix));
      req.onsuccess = () => done(req.result);
    });
  }

  // Keys and values under `prefix` from one snapshot: [keys, lengths, blob].
  function items(conn, prefix) {
    return transact(conn, "readonly", (store, done) => {
      const range = prefixRange(prefix);
      const keysReq = store.getAllKeys(range);
      const valuesReq = store.getAll(range);
      valuesReq.onsuccess = () => {
        const [lengths, blob] = pack(valuesReq.result);
        done([keysReq.result, lengths, blob]);
      };
    });
  }

  function equalBytes(a, b) {
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i += 1) if (a[i] !== b[i]) return false;
    return true;
  }

  // Compare-and-set in one readwrite transaction; null means absent for both values.
  function setIfEquals(conn, key, expected, value) {
    return transact(conn, "readwrite", (store, done) => {
      const req = store.get(key);
      req.onsuccess = () => {
        const current = bytesOf(req.result);
        const same = current === undefined ? expected == null
          : expected != null && equalBytes(current, expected);
        if (!same) { done(false); return; }
        if (value == null) store.delete(key); else store.put(value, key);
        done(true);
      };
    });
  }

  function close(conn) {
    conn.closed = true;
    conn.db?.close();
    conn.db = null;
  }

  function destroy(name) {
    return new Promise((resolve, reject) => {
      const req = indexedDB.deleteDatabase(name);
      req.onsuccess = () => resolve(undefined);
      req.onerror = () => reject(named(req.error, "UnknownError"));
    });
  }

  return { open, close, destroy, getMany, setMany, deleteMany, deletePrefix, keys, items, setIfEquals,
    prefixRange };
})()
