// What the browser backends share, evaluated once per interpreter and handed to each backend
// helper file (idb.js, localstorage.js) as `shared`. Locks for the Python side live here too
// (webstore.platform.locks), so the Web Lock is written once.
(() => {
  // A plain Error carrying the DOM error's name: Pyodide turns it into a JsException whose
  // `.name` Python reads (QuotaExceededError -> StorageFull). Never reject with the DOM error
  // itself: Chromium 156 raises quota failures as the new `QuotaExceededError` interface
  // (a DOMException subclass, tag "[object QuotaExceededError]") which Pyodide 314 does not
  // recognise as an error, so `fut.set_exception` fails ("invalid exception object"), the
  // Python await never settles and the leaked callbacks later crash Pyodide ("Object has
  // already been destroyed" in gc_register_proxies).
  function named(error, fallback) {
    const e = new Error(error?.message || String(error?.name ?? error ?? fallback));
    e.name = (typeof error?.name === "string" && error.name) || fallback;
    return e;
  }

  // `fn` with every synchronous throw and every rejection turned into a `named` Error.
  function guarded(fn) {
    return (...args) => {
      let result;
      try {
        result = fn(...args);
      } catch (error) {
        throw named(error, "UnknownError");
      }
      if (typeof result?.then !== "function") return result;
      return result.then(undefined, (error) => { throw named(error, "UnknownError"); });
    };
  }

  // [lengths (Int32Array, -1 = missing), concatenated bytes] of Uint8Arrays (null or
  // undefined = missing): a batch crosses into Python as two objects, not one per value.
  function pack(values) {
    const lengths = new Int32Array(values.length);
    let total = 0;
    values.forEach((v, i) => {
      const missing = v === null || v === undefined;
      lengths[i] = missing ? -1 : v.byteLength;
      total += missing ? 0 : v.byteLength;
    });
    if (values.length === 1 && lengths[0] >= 0) return [lengths, values[0]];
    const blob = new Uint8Array(total);
    let at = 0;
    for (const v of values) {
      if (v !== null && v !== undefined) { blob.set(v, at); at += v.byteLength; }
    }
    return [lengths, blob];
  }

  // Run `fn` holding the exclusive Web Lock `name` (tabs and workers of the origin queue
  // first come, first served); without navigator.locks (Node) it simply runs.
  function withLock(name, fn) {
    const locks = globalThis.navigator?.locks;
    if (!locks?.request) return Promise.resolve().then(fn);
    return locks.request(name, { mode: "exclusive" }, fn);
  }

  // Hold the lock `name` until the returned Promise's value (a release function) is called:
  // for Python, whose critical section spans several awaits.
  function acquire(name) {
    return new Promise((granted) => {
      withLock(name, () => new Promise((release) => granted(release)));
    });
  }

  const hasLocks = () => typeof globalThis.navigator?.locks?.request === "function";

  return { named, guarded, pack, withLock, acquire, hasLocks };
})()
