// Worker mode vs the engine on the page (JS API, IndexedDB), in real browsers: how long the
// page's main thread is blocked and what the postMessage hop costs.
//
//   flock /tmp/browser.lock node bench/worker_mode.mjs [chromium|firefox] [runs=3]
//
// Per mode ("page": engine on the main thread; "worker": {worker: true}; "worker+transfer":
// {worker: true, transfer: true}) and run, a fresh browser context (fresh IndexedDB, fresh
// Pyodide) measures: boot (first open), a 64 MB Float64Array set+get, a 10,000-value setMany
// (100-byte strings) and getMany, 1,000 single awaited gets. Main-thread blocking is shown two
// ways: the longest `longtask` entry (Chromium only) and the longest gap of a 10 ms setTimeout
// probe minus 10 ms (both engines). Prints a Markdown table of min-max over the runs; each
// run's times go to stderr, and the per-call cost of worker mode (median over the runs of
// worker minus page, for each batched call and per single get) after the table.
import { chromium, firefox } from "playwright-core";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const engines = {
  chromium: () => chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"] }),
  firefox: () => firefox.launch({ channel: "moz-firefox", executablePath: "/usr/bin/firefox-esr", headless: true }),
};
const which = process.argv[2] ? [process.argv[2]] : Object.keys(engines);
const runs = Number(process.argv[3] ?? 3);
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
  ".wasm": "application/wasm", ".html": "text/html" };
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path === "/bench.html") { res.writeHead(200, { "Content-Type": "text/html" }).end("<body>bench</body>"); return; }
  const file = normalize(join(process.cwd(), path));
  try {
    const body = await readFile(file);
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
  } catch { res.writeHead(404).end(); }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;

async function inPage(mode) {
  const ws = await import("/wasm/js/index.js");
  const tasks = [];
  try {
    new PerformanceObserver((list) => tasks.push(...list.getEntries()))
      .observe({ type: "longtask", buffered: true });
  } catch { /* Firefox: no longtask */ }
  const hasLongtask = PerformanceObserver.supportedEntryTypes?.includes("longtask");
  async function measure(fn) {
    await new Promise((r) => setTimeout(r, 50)); // start in a task of its own
    let last = performance.now();
    let gap = 0;
    let on = true;
    const tick = () => {
      const now = performance.now();
      gap = Math.max(gap, now - last - 10);
      last = now;
      if (on) setTimeout(tick, 10);
    };
    setTimeout(tick, 10);
    const start = performance.now();
    await fn();
    const ms = performance.now() - start;
    on = false;
    gap = Math.max(gap, performance.now() - last - 10);
    await new Promise((r) => setTimeout(r, 50)); // let the observer deliver
    const longest = tasks.filter((t) => t.startTime + t.duration >= start)
      .reduce((m, t) => Math.max(m, t.duration), 0);
    return { ms, task: hasLongtask ? longest : null, gap };
  }
  const options = { page: {}, worker: { worker: true },
    "worker+transfer": { worker: true, transfer: true } }[mode];
  const out = {};
  let store;
  out.boot = await measure(async () => { store = await ws.open("bench", options); });
  await store.set("warm", new Float64Array(16));
  await store.get("warm");
  const big = new Float64Array(8_000_000).map((_, i) => i * 0.5);
  out.big = await measure(async () => {
    await store.set("big", big);
    const back = await store.get("big");
    if (back.length !== 8_000_000) throw new Error("64 MB value did not come back");
  });
  const text = "x".repeat(100);
  const pairs = Array.from({ length: 10_000 }, (_, i) => [`k/${String(i).padStart(5, "0")}`, text]);
  out.setMany = await measure(() => store.setMany(pairs));
  const keys = pairs.map(([k]) => k);
  out.getMany = await measure(async () => {
    const got = await store.getMany(keys);
    if (got.length !== 10_000 || got[9999] !== text) throw new Error("getMany");
  });
  out.gets = await measure(async () => { for (let i = 0; i < 1000; i++) await store.get(keys[i]); });
  await store.close();
  return out;
}

const span = (xs) => {
  if (xs.some((x) => x == null)) return "n/a";
  const r = xs.map(Math.round);
  const lo = Math.min(...r); const hi = Math.max(...r);
  return lo === hi ? `${lo}` : `${lo}-${hi}`;
};

const rows = [];
const byMode = {};
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
for (const engine of which) {
  const browser = await engines[engine]();
  try {
    for (const mode of ["page", "worker", "worker+transfer"]) {
      const results = [];
      for (let i = 0; i < runs; i++) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${base}/bench.html`);
        results.push(await page.evaluate(inPage, mode));
        await context.close();
      }
      const col = (op, key) => span(results.map((r) => r[op][key]));
      byMode[`${engine} ${mode}`] = results;
      console.error(`${engine} ${mode} runs (ms): ${["boot", "big", "setMany", "getMany", "gets"]
        .map((op) => `${op} ${results.map((r) => Math.round(r[op].ms)).join("/")}`).join(", ")}`);
      rows.push(`| ${engine} | ${mode} | ${col("boot", "ms")} | ${col("big", "ms")} | `
        + `${col("big", "task")} / ${col("big", "gap")} | ${col("setMany", "ms")} | `
        + `${col("setMany", "task")} / ${col("setMany", "gap")} | ${col("getMany", "ms")} | `
        + `${col("getMany", "task")} / ${col("getMany", "gap")} | ${col("gets", "ms")} |`);
      console.error(rows.at(-1));
    }
  } finally {
    await browser.close();
  }
}
server.close();
console.log(`ms, min-max of ${runs} runs; "task / gap": longest main-thread longtask (Chromium) / longest probe gap`);
console.log("| engine | mode | boot | 64 MB set+get | blocked | setMany 10k | blocked | getMany 10k | blocked | 1,000 gets |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
console.log("\nworker mode minus page, median of the runs (ms; ratio worker / page):");
for (const engine of which) {
  const page = byMode[`${engine} page`];
  for (const mode of ["worker", "worker+transfer"]) {
    const runsOf = byMode[`${engine} ${mode}`];
    const cell = (op, per = 1) => {
      const a = median(page.map((r) => r[op].ms)); const b = median(runsOf.map((r) => r[op].ms));
      return `${op} ${((b - a) / per).toFixed(per > 1 ? 3 : 0)}${per > 1 ? " per get" : ""} `
        + `(${(b / a).toFixed(2)}x)`;
    };
    console.log(`${engine} ${mode}: ${cell("big")}, ${cell("setMany")}, ${cell("getMany")}, `
      + `${cell("gets", 1000)}`);
  }
}
