// The webstore worker of worker mode (client.js starts one per page): runs the real JS API of
// index.js here and answers the page's `{id, target, via, method, args}` with `{id, ok, value}`
// or `{id, ok: false, error: {name, message, fields}}`; per-call callbacks (onProgress) as
// `{id, callback, value}`, watch events as `{watch, value}`. ArrayBuffers in answers and events
// are transferred: Python made them for this answer (jsapi.to_js copies out of its memory).
// The page's first message `{lock}` names a Web Lock this worker holds for its whole life
// (`{holding}` says it does): the page learns that the worker stopped when it gets the lock.
import { Branch, SET_OWNED, Store, cloneRepo, open, openRepo } from "./index.js";

const OPENERS = { open, openRepo, cloneRepo };
const handles = new Map(); // handle -> Store | Repo
const watches = new Map(); // watch id -> stop
let nextHandle = 1;

/** Pyodide cannot be used any more: the page should replace this worker. */
const FATAL = /Pyodide (has suffered a fatal error|already (fatally failed|exited))/;

function buffersIn(value, out = new Set()) {
  if (typeof value !== "object" || value === null) return out;
  if (value instanceof ArrayBuffer) out.add(value);
  else if (ArrayBuffer.isView(value)) { if (value.buffer instanceof ArrayBuffer) out.add(value.buffer); }
  else for (const v of Object.values(value)) buffersIn(v, out);
  return out;
}

function send(message, value) {
  const transfer = [...buffersIn(value)];
  try {
    postMessage(message, transfer);
  } catch (error) { // e.g. a buffer that cannot move: copy it
    if (!transfer.length) throw error;
    postMessage(message);
  }
}

function errorMessage(error) {
  const fields = {};
  for (const [key, value] of Object.entries(error ?? {})) {
    if (key !== "name" && key !== "message" && key !== "stack"
        && (value === null || ["string", "number", "boolean"].includes(typeof value))) {
      fields[key] = value;
    }
  }
  return { name: error?.name ?? "Error", message: error?.message ?? String(error), fields };
}

function objectFor(target, via) {
  const object = handles.get(target);
  if (!object) throw new Error(`webstore worker: no store or repo ${target}`);
  if (!via) return object;
  const [kind, name] = via;
  if (kind === "branch") return object.branch(name);
  if (kind === "at") return object.at(name);
  throw new Error(`webstore worker: unknown ${kind}`);
}

async function run({ id, target, via, method, args, callbacks, optionsAt }) {
  for (const key of callbacks ?? []) {
    args[optionsAt][key] = (value) => send({ id, callback: key, value }, value);
  }
  if (target === 0) {
    const object = await OPENERS[method](...args);
    const handle = nextHandle++;
    handles.set(handle, object);
    if (method !== "open") return { handle };
    const { backend, selection, capabilities, largeValues } = object;
    return { handle, info: { backend, selection, capabilities, largeValues } };
  }
  const object = objectFor(target, via);
  if (method === "watch") {
    const [wid, options] = args;
    watches.set(wid, object.watch((value) => send({ watch: wid, value }, value), options));
    return undefined;
  }
  if (method === "unwatch") {
    watches.get(args[0])?.();
    watches.delete(args[0]);
    return undefined;
  }
  if (method.startsWith("_") || typeof object[method] !== "function") {
    throw new TypeError(`webstore worker: ${method} is not a method`);
  }
  // A value set here arrived as a structured clone only this worker holds: no snapshot.
  const result = method === "set" && object instanceof Store ? await object[SET_OWNED](...args)
    : await object[method](...args);
  return result instanceof Branch ? result.name : result;
}

self.onmessage = async ({ data }) => {
  if (data.lock !== undefined) { // the page's first message: hold this lock while we live
    navigator.locks?.request(data.lock, () => {
      postMessage({ holding: data.lock });
      return new Promise(() => {}); // released only when this worker stops
    }).catch(() => {}); // no lock: the page notices only error events
    return;
  }
  if (data.debug === "crash") {
    setTimeout(() => { throw new Error("webstore worker: crash asked by __debugCrashWorker"); });
    return;
  }
  let value;
  try {
    value = await run(data);
  } catch (error) {
    postMessage({ id: data.id, ok: false, error: errorMessage(error) });
    if (FATAL.test(String(error?.message))) {
      postMessage({ fatal: `Pyodide failed (${error.message})` });
      close();
    }
    return;
  }
  send({ id: data.id, ok: true, value }, value);
};
