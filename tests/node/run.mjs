// The conformance suite + Hypothesis state machine inside Pyodide under Node.
//
//   node tests/node/run.mjs [--examples N] [--seed S] [--pure-msgpack] [--json FILE]
//
// Runs, in one interpreter: memory, auto (Node 20 has neither IndexedDB nor localStorage, so
// auto must pick memory and say why the others were refused), then -- with fake-indexeddb
// installed as the global indexedDB, extra coverage only, the real engines are browsers --
// indexeddb and auto again (which must now pick indexeddb). Exit code 1 on any failure.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { isMainThread } from "node:worker_threads";
import { loadWebstore } from "../../wasm/loader.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    examples: { type: "string", default: "60" },
    seed: { type: "string", default: "0" },
    "pure-msgpack": { type: "boolean", default: false },
    json: { type: "string" },
  },
});
// In a worker_threads Worker (in_worker.mjs) the labels say so: node-worker.
const variant = (args["pure-msgpack"] ? "node-puremsgpack" : "node") + (isMainThread ? "" : "-worker");

const t0 = performance.now();
const pyodide = await loadWebstore({ test: true, pureMsgpack: args["pure-msgpack"] });
console.log(`${variant}: Pyodide + webstore + test wheels loaded in `
  + `${((performance.now() - t0) / 1000).toFixed(1)} s`);
pyodide.FS.writeFile("/home/pyodide/webstore_driver.py",
  await readFile(join(here, "driver.py"), "utf8"));
const msgpackFile = pyodide.runPython("import msgpack; msgpack.__file__");
const native = pyodide.runPython("import msgpack.fallback as f, msgpack; msgpack.Packer is not f.Packer");
console.log(`${variant}: msgpack ${native ? "C extension" : "pure Python"} (${msgpackFile})`);
if (native === args["pure-msgpack"]) {
  console.error(`${variant}: wrong msgpack build loaded`);
  process.exit(1);
}
const driver = pyodide.pyimport("webstore_driver");

async function suite(backend, expect) {
  const started = performance.now();
  const location = `node-${backend}-${Date.now()}`;
  const raw = await driver.run_suite.callKwargs(backend, location, {
    examples: Number(args.examples), seed: Number(args.seed),
  });
  const result = JSON.parse(raw);
  result.engine = variant;
  result.backend = backend;
  result.seconds = (performance.now() - started) / 1000;
  result.problems = [];
  if (expect && result.selection.backend !== expect.backend) {
    result.problems.push(`auto chose ${result.selection.backend}, expected ${expect.backend}`);
  }
  for (const [name, pattern] of Object.entries(expect?.refused ?? {})) {
    const why = result.selection.refused[name];
    if (!why || !pattern.test(why)) {
      result.problems.push(`refusal of ${name} is ${JSON.stringify(why)}, expected ${pattern}`);
    }
  }
  return result;
}

const results = [];
results.push(await suite("memory"));
results.push(await suite("auto", {
  backend: "memory",
  refused: { indexeddb: /indexedDB is not defined/, localstorage: /localStorage/ },
}));
if (!args["pure-msgpack"]) {
  // fake-indexeddb as the global IndexedDB (extra coverage of the backend's logic).
  await import("fake-indexeddb/auto");
  results.push(await suite("indexeddb"));
  results.push(await suite("auto", { backend: "indexeddb", refused: {} }));
}

let failed = 0;
console.log(`\n${"engine".padEnd(18)}${"backend".padEnd(18)}${"checks".padEnd(12)}`
  + `${"state machine".padEnd(26)}selected`);
for (const r of results) {
  const passed = r.checks.filter((c) => c.ok).length;
  const sm = r.stateful;
  const smText = sm.ok ? `ok (${sm.examples} programs)` : "FAILED";
  const bad = passed !== r.checks.length || !sm.ok || r.problems.length > 0
    || r.checks.length === 0;
  failed += bad ? 1 : 0;
  const label = r.backend === "auto" ? `auto(${r.selection.backend})` : r.backend;
  console.log(`${r.engine.padEnd(18)}${label.padEnd(18)}${`${passed}/${r.checks.length}`.padEnd(12)}`
    + `${smText.padEnd(26)}${r.selection.backend}`);
  for (const c of r.checks.filter((x) => !x.ok)) {
    console.log(`  FAIL test_conformance[${r.engine}-${r.backend}-${c.name}]\n${c.error}`);
  }
  if (!sm.ok) console.log(`  FAIL test_stateful[${r.engine}-${r.backend}]: ${sm.error}\n  ${sm.program}`);
  for (const p of r.problems) console.log(`  FAIL test_selection[${r.engine}-${r.backend}]: ${p}`);
}
if (args.json) {
  await mkdir(dirname(args.json), { recursive: true });
  await writeFile(args.json, JSON.stringify(results, null, 1));
}
console.log(failed ? `\n${variant}: ${failed} run(s) FAILED` : `\n${variant}: all runs passed`);
process.exit(failed ? 1 : 0);
