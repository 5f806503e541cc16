// IndexedDB side of webstore.platform.idb: a function of `shared` (shared.js), called once
// per interpreter by Pyodide.
//
// Every operation is ONE call from Python, running every request inside ONE transaction and
// settling when that transaction fires `complete` (or `abort`/`error`): a Python `await`
// between two requests would let the transaction auto-commit. Values are bytes: one
// Uint8Array per key, never base64. Batches cross the Python/JS boundary as one concatenated
// buffer plus lengths, so 10,000 values cost two copies instead of 10,000 proxies.
//
// Layout: database `location` (default "webstore"), object store "kv", out-of-line string
// keys, values Uint8Array (an ArrayBuffer or other view written by other code is accepted):
// layout 1. Layout 2 (a typed array or ArrayBuffer set from the JS API, setParts) stores
// {webstore: 2, head: Uint8Array, data: ArrayBuffer}: the head is the codec's frame without
// the data (webstore/kv/codec.py), the data the caller's buffer, cloned by IndexedDB alone.
// Everything but getParts reads such a record as head + data joined. Where opfs.js says OPFS is
// faster, large data goes to a file instead: {webstore: 2, head, file: name, size}, the file
// found through the index "file" (so the collector lists names without loading values).
((shared) => {
  const { named, pack: packBytes } = shared;
  const STORE = "kv";
  const FILES = "file";

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

  // The database cannot be (re)opened: raised as StorageUnavailable in Python.
  function unavailable(name, why) {
    const e = new Error(`IndexedDB database ${JSON.stringify(name)} cannot be opened: ${why}`);
    e.name = "StorageUnavailableError";
    return e;
  }

  function request(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(named(req.error, "UnknownError"));
    });
  }

  // Open `name` at whatever version it has, creating the "kv" store if missing (by bumping
  // the version when the database exists without it, e.g. created by other page code).
  // An upgrade that another connection blocks (one that ignores `versionchange`) fails at
  // once with StorageUnavailableError instead of waiting forever; should it complete later,
  // the connection is closed again.
  function openDB(name, version, wantIndex) {
    return new Promise((resolve, reject) => {
      let req;
      try {
        req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
      } catch (error) { // e.g. InvalidStateError in Firefox private browsing
        reject(named(error, "UnknownError"));
        return;
      }
      let settled = false;
      req.onupgradeneeded = () => {
        const db = req.result;
        const store = db.objectStoreNames.contains(STORE) ? req.transaction.objectStore(STORE)
          : db.createObjectStore(STORE);
        if (wantIndex && !store.indexNames.contains(FILES)) store.createIndex(FILES, "file");
      };
      req.onblocked = () => {
        settled = true;
        reject(unavailable(name, `upgrading it to version ${version} is blocked by another `
          + "connection that does not close on versionchange"));
      };
      req.onerror = () => { if (!settled) reject(named(req.error, "UnknownError")); };
      req.onsuccess = () => {
        const db = req.result;
        if (settled) { db.close(); return; }
        if (db.objectStoreNames.contains(STORE) && (!wantIndex
            || db.transaction(STORE).objectStore(STORE).indexNames.contains(FILES))) {
          resolve(db);
          return;
        }
        const next = db.version + 1;
        db.close();
        openDB(name, next, wantIndex).then(resolve, reject);
      };
    });
  }

  // A connection that closes itself when another tab upgrades or deletes the database (so
  // that tab is not blocked) or when the browser closes it, and reopens lazily on the next
  // operation. A failed reopen rejects with StorageUnavailableError.
  // `files`: what opfs.js's open answered ({dir, threshold} when large values go to OPFS).
  async function open(name, files) {
    const conn = { name, db: null, opening: null, closed: false, reopen: false,
      files: files?.write ? files : null };
    await ensure(conn);
    // Files left by deletes and overwrites in earlier sessions go now, in the background,
    // unless another context is writing or collecting (then it or a later open will).
    if (conn.files) collect(conn, { ifAvailable: true }).catch(() => {});
    return conn;
  }

  function ensure(conn) {
    if (conn.closed) return Promise.reject(named(null, "InvalidStateError"));
    if (conn.db) return Promise.resolve(conn.db);
    conn.opening ??= openDB(conn.name, undefined, Boolean(conn.files)).then((db) => {
      if (conn.closed) { db.close(); throw named(null, "InvalidStateError"); }
      const lost = () => { if (conn.db === db) { conn.db = null; conn.reopen = true; } };
      db.onversionchange = () => { db.close(); lost(); };
      db.onclose = lost;
      conn.db = db;
      return db;
    }, (error) => {
      if (!conn.reopen || error.name === "StorageUnavailableError") throw error;
      throw unavailable(conn.name, `reopening after another connection changed it failed: `
        + `${error.name}: ${error.message}`);
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
      if (error?.name !== "InvalidStateError") throw named(error, "UnknownError");
      conn.db = null;
      conn.reopen = true;
      db = await ensure(conn);
      try {
        tx = db.transaction(STORE, mode, { durability: "default" });
      } catch (again) {
        throw named(again, "UnknownError");
      }
    }
    return new Promise((resolve, reject) => {
      let result;
      let firstError = null;
      tx.oncomplete = () => resolve(result);
      // The cause: the first request error that is not the AbortError every pending request
      // gets once the transaction aborts (Firefox reports a quota failure on the request and
      // AbortError on the transaction; Chromium the other way round).
      tx.onabort = () => {
        const error = named(firstError ?? tx.error, "AbortError");
        // Firefox leaves a connection that hit the quota refusing the next write
        // (InvalidStateError "did not allow mutations"): reopen it on the next operation.
        if (error.name === "QuotaExceededError" && conn.db === db) {
          db.close();
          conn.db = null;
          conn.reopen = true;
        }
        reject(error);
      };
      tx.onerror = (event) => {
        const error = event.target.error;
        if (error && error.name !== "AbortError") firstError ??= error;
      };
      // Request callbacks run through `guard`: an exception escaping an IndexedDB event
      // handler aborts the transaction with a bare AbortError, losing the cause (Firefox's
      // put() throws QuotaExceededError synchronously for a value over the quota).
      const guard = (fn) => (...args) => {
        try {
          return fn(...args);
        } catch (error) {
          firstError ??= error;
          try { tx.abort(); } catch { /* already finished */ }
          return undefined;
        }
      };
      try {
        result = body(tx.objectStore(STORE), (value) => { result = value; }, guard);
      } catch (error) {
        firstError = error;
        try { tx.abort(); } catch { /* already finished */ }
        reject(named(error, "DataError"));
      }
    });
  }

  function isParts(value) {
    return value?.webstore === 2 && value.head instanceof Uint8Array
      && value.data instanceof ArrayBuffer;
  }
  // A file record: {webstore: 2, head, file, size} (the data of a split value) or
  // {webstore: 2, file, size} (a whole framed value, written by setMany).
  function isFile(value) {
    return value?.webstore === 2 && typeof value.file === "string";
  }

  // A file record with its data read from OPFS ({webstore: 2, head, data}). The file may have
  // been collected after an overwrite of the key since the record was read: then the record
  // is read again under the shared lock (the collector waits) and its file read. A record
  // whose file is missing even so reads as its head alone, which the codec reports as
  // corrupt (IntegrityError naming the key).
  async function withData(conn, key, record) {
    const load = async (rec) => {
      const data = await conn.files.read(rec.file);
      return rec.head ? { webstore: 2, head: rec.head, data } : new Uint8Array(data);
    };
    try {
      return await load(record);
    } catch (error) {
      if (error?.name !== "NotFoundError") throw named(error, "UnknownError");
    }
    return navigator.locks.request(conn.files.lock, { mode: "shared" }, async () => {
      const again = await transact(conn, "readonly", (store, done) => {
        const req = store.get(key);
        req.onsuccess = () => done(req.result);
      });
      if (!isFile(again)) return again;
      try {
        return await load(again);
      } catch (error) {
        if (error?.name !== "NotFoundError") throw named(error, "UnknownError");
        return again.head ?? new Uint8Array(0);
      }
    });
  }

  // `values` (records read with `keys`) with every file record's data read.
  async function withFiles(conn, keys, values) {
    if (!conn.files || !values.some(isFile)) return values;
    return Promise.all(values.map((v, i) => (isFile(v) ? withData(conn, keys[i], v) : v)));
  }

  function bytesOf(value) {
    if (value === undefined) return undefined;
    if (value instanceof Uint8Array) return value;
    if (isParts(value)) {
      const joined = new Uint8Array(value.head.byteLength + value.data.byteLength);
      joined.set(value.head);
      joined.set(new Uint8Array(value.data), value.head.byteLength);
      return joined;
    }
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) {
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    // Not ours (another script wrote a string, object ...): read it as zero bytes, which the
    // codec rejects as IntegrityError naming the key, instead of failing the whole batch.
    return new Uint8Array(0);
  }

  // [lengths, concatenated bytes] of stored values (see shared.js).
  function pack(values) {
    return packBytes(values.map(bytesOf));
  }

  async function getMany(conn, keys) {
    const values = await transact(conn, "readonly", (store, done, guard) => {
      const found = new Array(keys.length);
      let pending = keys.length;
      if (pending === 0) return found;
      keys.forEach((key, i) => {
        const req = store.get(key);
        req.onsuccess = guard(() => {
          found[i] = req.result;
          if (--pending === 0) done(found);
        });
      });
      return undefined;
    });
    return pack(await withFiles(conn, keys, values));
  }

  // `lengths[i]` bytes of `blob` per key; a single value is stored without a copy.
  // Values of at least `conn.files.threshold` bytes (Python's large typed arrays, framed with
  // their CRC-32) go whole to OPFS files named by their SHA-256: every file is written and
  // flushed, then one transaction puts every record ({webstore: 2, file, size} for those).
  function setMany(conn, keys, blob, lengths) {
    const { files } = conn;
    if (!files || !Array.prototype.some.call(lengths, (n) => n >= files.threshold)) {
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
    return withFileLock(conn, async () => {
      let at = 0;
      const records = await Promise.all(Array.from(lengths, async (size) => {
        const value = blob.slice(at, at += size);
        if (size < files.threshold) return value;
        const file = hexOf(new Uint8Array(await crypto.subtle.digest("SHA-256", value)));
        try {
          await files.write(file, value.buffer);
        } catch (error) {
          throw named(error, "UnknownError");
        }
        return { webstore: 2, file, size };
      }));
      await transact(conn, "readwrite", (store) => {
        keys.forEach((key, i) => store.put(records[i], key));
      });
    });
  }

  // A layout-2 value: `data` (an ArrayBuffer or a view of one) is stored as an ArrayBuffer of
  // exactly its bytes: a view's whole buffer when it spans it (no copy here), else a slice.
  // Data of at least `conn.files.threshold` bytes goes to an OPFS file named by its SHA-256
  // (in the head), written and flushed before the record naming it commits, all under the
  // shared lock the collector takes exclusively.
  function setParts(conn, key, head, data) {
    let buffer = data;
    if (ArrayBuffer.isView(data)) {
      buffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
        ? data.buffer : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    }
    if (!(buffer instanceof ArrayBuffer)) {
      return Promise.reject(named({ name: "DataError", message: "data must be binary" }));
    }
    const { files } = conn;
    if (!files || buffer.byteLength < files.threshold) {
      return transact(conn, "readwrite", (store) => {
        store.put({ webstore: 2, head, data: buffer }, key);
      });
    }
    const file = hexOf(head.subarray(6, 38));
    return withFileLock(conn, async () => {
      try {
        await files.write(file, buffer);
      } catch (error) {
        throw named(error, "UnknownError");
      }
      await transact(conn, "readwrite", (store) => {
        store.put({ webstore: 2, head, file, size: buffer.byteLength }, key);
      });
    });
  }

  function hexOf(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // [] when missing, [head, data] for a layout-2 record, [bytes] for any other.
  async function getParts(conn, key) {
    let value = await transact(conn, "readonly", (store, done) => {
      const req = store.get(key);
      req.onsuccess = () => done(req.result);
    });
    if (isFile(value)) value = await withData(conn, key, value);
    return value === undefined ? [] : isParts(value) ? [value.head, value.data]
      : [bytesOf(value)];
  }

  // Delete the OPFS files no record names (after deletes and overwrites); the number deleted.
  // Holds the exclusive lock, so no writer is between its file and its record meanwhile.
  async function collect(conn, { ifAvailable = false } = {}) {
    const { files } = conn;
    if (!files) return 0;
    return navigator.locks.request(files.lock, { mode: "exclusive", ifAvailable }, async (lock) => {
      if (!lock) return 0;
      const names = (await files.list()).filter((n) => /^[0-9a-f]{64}$/.test(n));
      if (!names.length) return 0;
      const referenced = await transact(conn, "readonly", (store, done) => {
        const found = new Set();
        const req = store.index(FILES).openKeyCursor();
        req.onsuccess = () => {
          const cursor = req.result;
          if (!cursor) { done(found); return; }
          found.add(cursor.key);
          cursor.continue();
        };
      });
      const garbage = names.filter((n) => !referenced.has(n));
      await files.remove(garbage);
      return garbage.length;
    });
  }

  async function deleteMany(conn, keys) {
    await transact(conn, "readwrite", (store) => {
      for (const key of keys) store.delete(key);
    });
    await tidy(conn);
  }

  async function deletePrefix(conn, prefix) {
    await transact(conn, "readwrite", (store) => {
      const range = prefixRange(prefix);
      if (range === undefined) store.clear(); else store.delete(range);
    });
    await tidy(conn);
  }

  // After a delete or an overwrite: collect the files no record names now, so deleting frees
  // space as users expect, unless another context holds the lock (it, or the next write or
  // open, will). Without files (no OPFS, or none written) this is one empty folder listing.
  async function tidy(conn) {
    if (conn.files) await collect(conn, { ifAvailable: true }).catch(() => 0);
  }

  // Write files under the shared lock (`write` resolves when every record naming them has
  // committed). Over the quota, the files of deleted and overwritten values are collected
  // and the write tried once more; an overwrite's old file goes right after.
  async function withFileLock(conn, write) {
    const { files } = conn;
    const attempt = () => navigator.locks.request(files.lock, { mode: "shared" }, write);
    try {
      await attempt();
    } catch (error) {
      if (error?.name !== "QuotaExceededError" || !await collect(conn)) throw error;
      await attempt();
    }
    await tidy(conn);
  }

  function keys(conn, prefix) {
    return transact(conn, "readonly", (store, done) => {
      const req = store.getAllKeys(prefixRange(prefix));
      req.onsuccess = () => done(req.result);
    });
  }

  // Keys and values under `prefix` from one snapshot: [keys, lengths, blob].
  async function items(conn, prefix) {
    const [keys, values] = await transact(conn, "readonly", (store, done, guard) => {
      const range = prefixRange(prefix);
      const keysReq = store.getAllKeys(range);
      const valuesReq = store.getAll(range);
      valuesReq.onsuccess = guard(() => done([keysReq.result, valuesReq.result]));
    });
    const [lengths, blob] = pack(await withFiles(conn, keys, values));
    return [keys, lengths, blob];
  }

  function equalBytes(a, b) {
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i += 1) if (a[i] !== b[i]) return false;
    return true;
  }

  // Whether `expected` (joined bytes) is the layout-2 `record`: its head holds the SHA-256
  // of the data, so head and length decide without reading the data; a whole-value file is
  // named by the SHA-256 of the value (`digest`: of `expected`, when it is that large).
  function equalsParts(record, expected, digest) {
    if (!record.head) return record.file === digest && record.size === expected.byteLength;
    const size = isFile(record) ? record.size : record.data.byteLength;
    return expected.byteLength === record.head.byteLength + size
      && equalBytes(record.head, expected.subarray(0, record.head.byteLength));
  }

  // Compare-and-set in one readwrite transaction; null means absent for both values.
  // A new value is put in the record whatever its size (compare-and-set is for small ones).
  async function setIfEquals(conn, key, expected, value) {
    const digest = expected != null && conn.files && expected.byteLength >= conn.files.threshold
      ? hexOf(new Uint8Array(await crypto.subtle.digest("SHA-256", expected))) : null;
    let replacedFile = false;
    const done = await transact(conn, "readwrite", (store, finish, guard) => {
      const req = store.get(key);
      req.onsuccess = guard(() => {
        const record = req.result;
        const same = record === undefined ? expected == null
          : expected != null && (isParts(record) || isFile(record)
            ? equalsParts(record, expected, digest) : equalBytes(bytesOf(record), expected));
        if (!same) { finish(false); return; }
        if (value == null) store.delete(key); else store.put(value, key);
        replacedFile = isFile(record);
        finish(true);
      });
    });
    if (replacedFile) await tidy(conn);
    return done;
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

  return { open, close, destroy, getMany, setMany, setParts, getParts, collect, deleteMany,
    deletePrefix, keys, items, setIfEquals, prefixRange };
})
