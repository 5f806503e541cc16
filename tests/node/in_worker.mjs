// run.mjs inside a Node `worker_threads` Worker (the context JupyterLite-style apps use on Node):
// the same suites, labelled node-worker; exits with the worker's status.
//
//   node tests/node/in_worker.mjs [run.mjs options]
import { Worker } from "node:worker_threads";

const worker = new Worker(new URL("./run.mjs", import.meta.url), { argv: process.argv.slice(2) });
worker.on("error", (error) => { console.error("node-worker: the worker failed:", error); process.exitCode = 1; });
worker.on("exit", (code) => { if (code !== 0) process.exitCode = code || 1; });
