// Large values on the Origin Private File System, for idb.js (a function of `shared`, called
// once per interpreter by Pyodide).
//
// A file holds the data of one layout-2 value (webstore/kv/codec.py) and is named by its
// SHA-256 (hex), in the folder webstore/<database> of the origin's OPFS; the IndexedDB
// record beside it holds the head and the name. Files are written whole and flushed before
// the record that names them is put, so a record never names a file that is not complete.
// Writers hold the shared Web Lock `webstore-opfs:<database>` from the file's first byte to
// the record's commit; the collector holds it exclusively while it deletes files no record
// names, so it can never delete a file a writer is about to reference.
//
// Where: only engines measured faster than IndexedDB for large values (THRESHOLDS, from
// bench numbers of 2026-11-30: Firefox ESR 153 reads+writes 64 MB 4-6x faster on OPFS from
// 1 MiB up; Chromium 156 measured no faster at any size; WebKitGTK 2.50 has no OPFS). A
// probe writes and reads back its file ("probe") first; any failure (private modes,
// SecurityError) keeps every value in IndexedDB, with the reason recorded.
((shared) => {
  const { named } = shared;
  const THRESHOLDS = { firefox: 1 << 20 };

  function engine() {
    const agent = globalThis.navigator?.userAgent ?? "";
    if (/Firefox\//.test(agent)) return "firefox";
    if (/Chrome\//.test(agent)) return "chromium";
    if (/AppleWebKit\//.test(agent)) return "webkit";
    return "other";
  }

  // Dedicated workers have synchronous access handles (one write + flush); pages use a
  // writable stream, which the browser writes to a swap file and swaps in on close.
  const inWorker = typeof globalThis.WorkerGlobalScope === "function"
    && globalThis instanceof globalThis.WorkerGlobalScope;

  async function folder(database) {
    const root = await navigator.storage.getDirectory();
    const top = await root.getDirectoryHandle("webstore", { create: true });
    return top.getDirectoryHandle(encodeURIComponent(database), { create: true });
  }

  // Write `data` as file `name`; a failed write (quota) leaves no file it created.
  async function write(dir, name, data) {
    const existed = await dir.getFileHandle(name).then(() => true, () => false);
    try {
      await writeFile(dir, name, data);
    } catch (error) {
      if (!existed) await dir.removeEntry(name).catch(() => {});
      throw error;
    }
  }

  async function writeFile(dir, name, data) {
    const handle = await dir.getFileHandle(name, { create: true });
    if (inWorker && typeof handle.createSyncAccessHandle === "function") {
      // Another context may be writing the same content (same name): wait for its handle.
      let access;
      for (let attempt = 0; ; attempt += 1) {
        try {
          access = await handle.createSyncAccessHandle();
          break;
        } catch (error) {
          if (error?.name !== "NoModificationAllowedError" || attempt >= 50) throw error;
          await new Promise((resolve) => { setTimeout(resolve, 20); });
        }
      }
      try {
        const written = access.write(new Uint8Array(data), { at: 0 });
        if (written !== data.byteLength) {
          throw named({ name: "QuotaExceededError", message: "short write" }, "UnknownError");
        }
        access.truncate(data.byteLength);
        access.flush();
      } finally {
        access.close();
      }
      return;
    }
    const stream = await handle.createWritable();
    try {
      await stream.write(data);
      await stream.close();
    } catch (error) {
      await stream.abort().catch(() => {});
      throw error;
    }
  }

  // In a worker a read-only synchronous handle reads 64 MB several times faster than a File;
  // where that mode is missing or another context holds the file, read it as a File.
  async function read(dir, name) {
    const handle = await dir.getFileHandle(name);
    if (inWorker && typeof handle.createSyncAccessHandle === "function") {
      let access = null;
      try {
        access = await handle.createSyncAccessHandle({ mode: "read-only" });
        const out = new Uint8Array(access.getSize());
        if (access.read(out, { at: 0 }) === out.byteLength) return out.buffer;
      } catch {
        // fall back below
      } finally {
        access?.close();
      }
    }
    return (await handle.getFile()).arrayBuffer();
  }

  // Names in `dir` (the files of one database).
  async function list(dir) {
    const names = [];
    for await (const name of dir.keys()) names.push(name);
    return names;
  }

  async function remove(dir, names) {
    for (const name of names) {
      await dir.removeEntry(name).catch((error) => {
        if (error?.name !== "NotFoundError") throw error;
      });
    }
  }

  // {threshold, reason, lock, write(name, data), read(name), list(), remove(names)} for the
  // files of `database`, or {reason} saying why its values stay in IndexedDB.
  async function open(database) {
    const threshold = THRESHOLDS[engine()];
    if (threshold === undefined) {
      return { reason: `not used in ${engine()}: measured no faster than IndexedDB, or missing` };
    }
    if (typeof globalThis.navigator?.storage?.getDirectory !== "function") {
      return { reason: "navigator.storage.getDirectory is missing" };
    }
    if (typeof globalThis.crypto?.subtle?.digest !== "function") {
      return { reason: "crypto.subtle is missing (not a secure context): files are named by it" };
    }
    if (typeof globalThis.navigator?.locks?.request !== "function") {
      return { reason: "navigator.locks is missing (the collector could race writers)" };
    }
    try {
      const dir = await folder(database);
      // One probe file per database, rewritten by every probe and never deleted: a probe
      // cut short by a kill leaves nothing behind, and concurrent probes write equal bytes.
      const bytes = new Uint8Array([1, 2, 3, 4]);
      await write(dir, "probe", bytes.buffer.slice(0));
      const back = new Uint8Array(await read(dir, "probe"));
      if (back.join() !== bytes.join()) return { reason: "the probe file read back different bytes" };
      return {
        threshold, reason: `values of ${threshold} bytes or more on OPFS`,
        lock: `webstore-opfs:${database}`,
        write: (name, data) => write(dir, name, data),
        read: (name) => read(dir, name),
        list: () => list(dir),
        remove: (names) => remove(dir, names),
      };
    } catch (error) {
      return { reason: `the OPFS probe failed: ${error?.name}: ${error?.message}` };
    }
  }

  // Delete the files of `database` (destroy).
  async function destroy(database) {
    if (typeof globalThis.navigator?.storage?.getDirectory !== "function") return;
    const root = await navigator.storage.getDirectory();
    const top = await root.getDirectoryHandle("webstore").catch(() => null);
    await top?.removeEntry(encodeURIComponent(database), { recursive: true }).catch((error) => {
      if (error?.name !== "NotFoundError") throw error;
    });
  }

  return { open, destroy };
})
