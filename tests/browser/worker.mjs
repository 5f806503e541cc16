// A dedicated module worker running webstore's in-Pyodide test driver (tests/node/driver.py),
// started by tests/browser/worker.html. Pyodide and the wheels load exactly as in page.html
// (wasm/loader.mjs with the test lock file from wasm/dist, nothing from a CDN).
//
// Protocol: the worker posts {ready: true, bootMs} once Pyodide and the driver are loaded (or
// {ready: false, error}); then it answers each message {id, method, args} with {id, ok} or
// {id, error}. Methods are page.html's: runSuite, selection, py (await a driver coroutine,
// JSON text back) and run (await Python code whose last expression is JSON text).
import { loadWebstore } from "/wasm/loader.mjs";

const started = performance.now();

async function boot() {
  const pyodide = await loadWebstore({ test: true });
  const source = await (await fetch("/tests/node/driver.py")).text();
  pyodide.FS.writeFile("/home/pyodide/webstore_driver.py", source);
  return { pyodide, driver: pyodide.pyimport("webstore_driver") };
}

const ready = boot();

// A Python result that is not a plain value (a PyProxy) cannot be posted: convert it.
const plain = (value) => (value && typeof value.toJs === "function" ? value.toJs() : value);

const methods = {
  async runSuite(backend, location, examples, seed) {
    const { driver } = await ready;
    return driver.run_suite.callKwargs(backend, location, { examples, seed });
  },
  async selection(backend, location) {
    const { driver } = await ready;
    return driver.selection_json(backend, location);
  },
  async py(name, ...args) {
    const { driver } = await ready;
    return driver[name](...args);
  },
  async run(code) {
    const { pyodide } = await ready;
    return pyodide.runPythonAsync(code);
  },
};

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    if (!(method in methods)) throw new Error(`worker: no method ${JSON.stringify(method)}`);
    postMessage({ id, ok: plain(await methods[method](...args)) ?? null });
  } catch (e) {
    postMessage({ id, error: String((e && e.stack) || e) });
  }
};

ready.then(
  () => postMessage({ ready: true, bootMs: performance.now() - started }),
  (e) => postMessage({ ready: false, error: String((e && e.stack) || e) }),
);
