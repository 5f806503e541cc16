// Boot Pyodide from node_modules with webstore's own wheels: no CDN, Node and browsers alike.
//
//   import { loadWebstore } from "./wasm/loader.mjs";
//   const pyodide = await loadWebstore();            // webstore + msgpack installed
//   await pyodide.runPythonAsync("import webstore; s = await webstore.open('notes')");
//
// The wheels and lock files come from `python3 wasm/build.py` (wasm/dist/). Pyodide's npm
// package ships the interpreter only; the packages its own lock file names would be fetched
// from a CDN, so we pass a lock file of our own (lockFileContents + packageBaseUrl).
//
// One Pyodide per page (or Node process): the boot promise is memoised on globalThis under a
// registered symbol, so two copies of this module, or two calls, share one interpreter.
// Asking for { test: true } later installs the test wheels into that same interpreter.

const INSTANCE = Symbol.for("webstore.pyodide");
const IN_NODE = typeof process !== "undefined" && !!process.versions?.node
  && typeof window === "undefined";

/** Absolute URL of a directory, always ending in "/". */
function dirURL(value) {
  const url = new URL(value, IN_NODE ? `file://${process.cwd()}/` : globalThis.location.href);
  if (!url.href.endsWith("/")) url.pathname += "/";
  return url;
}

async function defaultIndexURL() {
  if (IN_NODE) {
    const { createRequire } = await import("node:module");
    const require = createRequire(import.meta.url);
    const pkg = require.resolve("pyodide/package.json");
    return new URL(".", `file://${pkg}`);
  }
  // Browsers: the server exposes node_modules. In this repository Pyodide sits in
  // ../node_modules/pyodide; in an app that installed webstore from npm, npm hoists it next to
  // us (node_modules/webstore/wasm/ -> node_modules/pyodide/). Take the first that answers.
  const candidates = ["../node_modules/pyodide/", "../../pyodide/"]
    .map((rel) => new URL(rel, import.meta.url));
  for (const url of candidates) {
    const response = await fetch(new URL("package.json", url), { method: "HEAD" })
      .catch(() => null);
    if (response?.ok) return url;
  }
  throw new Error("webstore loader: Pyodide not found at "
    + `${candidates.map((u) => u.href).join(" or ")}; pass { indexURL } to loadWebstore`);
}

async function readJSON(url) {
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    return JSON.parse(await readFile(fileURLToPath(url), "utf8"));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`webstore loader: ${url} answered ${response.status}`);
  return response.json();
}

/** Where Pyodide reads wheels from: a file path in Node, an absolute URL in browsers. */
function baseForPyodide(url) {
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

/**
 * Our lock file, made to fit the Pyodide that is actually loaded: if its ABI differs from the
 * one the native msgpack wheel was built for, swap in the pure-Python msgpack wheel.
 */
async function lockFor(distURL, indexURL, options, pyodideVersion) {
  const [lock, built] = await Promise.all([ // fetched together: cold start
    readJSON(new URL(options.test ? "pyodide-lock-test.json" : "pyodide-lock.json", distURL)),
    readJSON(new URL("build-info.json", distURL))]);
  if (options.pureMsgpack) {
    const pure = await readJSON(new URL("pyodide-lock-pure.json", distURL));
    lock.packages.msgpack = pure.packages.msgpack;
  } else if (built.pyodide_version !== pyodideVersion) {
    const theirs = await readJSON(new URL("pyodide-lock.json", indexURL));
    if (theirs.info.abi_version !== lock.info.abi_version) {
      const pure = await readJSON(new URL("pyodide-lock-pure.json", distURL));
      lock.packages.msgpack = pure.packages.msgpack;
    }
    lock.info = theirs.info;
  }
  return lock;
}

async function boot(options) {
  const indexURL = options.indexURL ? dirURL(options.indexURL) : await defaultIndexURL();
  const distURL = options.distURL ? dirURL(options.distURL) : new URL("./dist/", import.meta.url);
  const { loadPyodide, version } = await import(new URL("pyodide.mjs", indexURL).href);
  const lock = await lockFor(distURL, indexURL, options, version);
  const packages = ["webstore", ...(options.test ? Object.keys(lock.packages) : [])];
  const config = {
    indexURL: baseForPyodide(indexURL),
    lockFileContents: lock,
    packageBaseUrl: baseForPyodide(distURL),
    packages: [...new Set(packages)],
  };
  for (const name of ["stdout", "stderr", "env"]) { // an undefined value would erase a default
    if (options[name] !== undefined) config[name] = options[name];
  }
  const pyodide = await loadPyodide(config);
  pyodide.runPython("import webstore");
  return { pyodide, distURL, test: !!options.test };
}

/** Install the test wheels (hypothesis, pytest ...) into an interpreter booted without them. */
async function addTestWheels(state) {
  if (state.test) return;
  const lock = await readJSON(new URL("pyodide-lock-test.json", state.distURL));
  const have = state.pyodide.loadedPackages;
  const urls = Object.values(lock.packages).filter((p) => !(p.name in have))
    .map((p) => baseForPyodide(new URL(p.file_name, state.distURL)));
  await state.pyodide.loadPackage(urls, { checkIntegrity: false });
  state.test = true;
}

/**
 * Pyodide with webstore imported; the same instance for every call in this page or process.
 *
 * Options (first call wins, except `test`): `indexURL` (Pyodide's directory; default
 * node_modules/pyodide), `distURL` (wasm/dist/), `test` (also install hypothesis + pytest),
 * `pureMsgpack` (use the pure-Python msgpack wheel), `stdout`, `stderr`, `env`.
 */
export function loadWebstore(options = {}) {
  let entry = globalThis[INSTANCE];
  if (!entry) {
    entry = { promise: boot(options) };
    Object.defineProperty(globalThis, INSTANCE, { value: entry, configurable: true });
    entry.promise.catch(() => { delete globalThis[INSTANCE]; }); // a failed boot may be retried
  }
  if (!options.test) return entry.promise.then((state) => state.pyodide);
  entry.testing ??= entry.promise.then(addTestWheels);
  return entry.testing.then(() => entry.promise).then((state) => state.pyodide);
}

export default loadWebstore;
