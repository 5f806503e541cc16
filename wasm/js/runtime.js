// One Pyodide per page (or Node process), shared by every store and repo: wasm/loader.mjs
// memoises the boot on globalThis. This module adds loading progress and the call helper.
import { loadWebstore } from "../loader.mjs";
import { fromEnvelope } from "./errors.js";

// Files Pyodide fetches while booting, with their rough share of the bytes.
const MILESTONES = [
  ["pyodide.mjs", 0.02], ["pyodide.asm.mjs", 0.1], ["pyodide-lock", 0.02],
  ["pyodide.asm.wasm", 0.55], ["python_stdlib.zip", 0.2], ["msgpack", 0.03],
  ["webstore-", 0.05],
];
const listeners = new Set();
let done = false;
let reported = 0;
let api;

function report(fraction, phase) {
  reported = Math.max(reported, fraction);
  for (const fn of listeners) {
    try { fn({ fraction: reported, phase }); } catch { /* a listener's bug is its own */ }
  }
}

function observeDownloads() {
  if (typeof PerformanceObserver === "undefined" || typeof window === "undefined") return null;
  const seen = new Set();
  let sum = 0.03;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const hit = MILESTONES.find(([part]) => entry.name.includes(part));
      if (hit && !seen.has(hit[0])) {
        seen.add(hit[0]);
        sum += hit[1];
        report(Math.min(sum, 0.97), `loaded ${hit[0]}`);
      }
    }
  });
  try { observer.observe({ type: "resource", buffered: true }); } catch { return null; }
  return observer;
}

/**
 * The shared interpreter with webstore imported. `onProgress({fraction, phase})` is called
 * while it loads (0..1; at once with 1 when it is already loaded). Loader options
 * (`indexURL`, `distURL`, `pureMsgpack`) apply to the first call of the page only.
 */
export async function runtime({ onProgress, ...loaderOptions } = {}) {
  if (onProgress) {
    if (done) onProgress({ fraction: 1, phase: "ready" });
    else { listeners.add(onProgress); onProgress({ fraction: reported, phase: "loading Python" }); }
  }
  if (api) return api;
  const observer = observeDownloads();
  try {
    const options = {};
    for (const key of ["indexURL", "distURL", "pureMsgpack", "stdout", "stderr"]) {
      if (loaderOptions[key] !== undefined) options[key] = loaderOptions[key];
    }
    const pyodide = await loadWebstore(options);
    api ??= { pyodide, py: pyodide.pyimport("webstore.platform.jsapi") };
    done = true;
    report(1, "ready");
    return api;
  } finally {
    observer?.disconnect();
    if (done) listeners.clear();
  }
}

/** Await a Python call's envelope: its value, or throw the named error. */
export async function unwrap(pending, ...proxies) {
  let envelope;
  try {
    envelope = await pending;
  } finally {
    for (const p of proxies) p?.destroy?.();
  }
  if (!Array.isArray(envelope)) throw new TypeError("webstore: unexpected answer from Python");
  if (!envelope[0]) throw fromEnvelope(envelope);
  return envelope[1];
}
