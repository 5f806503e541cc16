// Worker mode of the JS API in real Chromium and Firefox (playwright-core 1.64.1, Debian
// browsers). The page side is tests/js/worker_scenario.mjs (served in worker_scenario.html),
// which tests/browser/test_worker_mode_webkit.py runs in WebKitGTK through Selenium: one
// scenario (values of every kind, errors with their class and fields, values postMessage cannot
// carry, store and branch watches, a repo's commits/history/merge/diff, push/pull/fetch/clone
// through a real Git server) runs with the engine on the page and with `{worker: true}` in
// fresh browser contexts; the two descriptions must be equal. Then, worker mode only:
// `transfer: true` detaches the caller's buffers, the default clones them; a worker terminated
// or crashing mid-call rejects the pending call (StorageUnavailable), the next call starts a
// new worker where acknowledged writes are there and watches are re-subscribed; a worker
// stopped with no error event (Worker.terminate() by other code) is noticed through its Web
// Lock. Serves the repository itself (node:http) and starts a Git server (gitserver_cli.py).
// Usage: node tests/js/worker.browser.mjs [chromium|firefox]
import { chromium, firefox } from "playwright-core";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { judge, judgeWorkerGone, judgeWorkerOnly } from "./worker_scenario.mjs";

const engines = {
  chromium: () => chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"] }),
  firefox: () => firefox.launch({ channel: "moz-firefox", executablePath: "/usr/bin/firefox-esr", headless: true }),
};
const only = process.argv[2];
const python = existsSync(".venv/bin/python") ? ".venv/bin/python" : "python3";
const children = [];
process.on("exit", () => { for (const c of children) c.kill(); });

// The repository root, served as is (a real response: Chromium refuses a page that Playwright
// fulfilled access to the loopback Git server).
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
  ".wasm": "application/wasm", ".whl": "application/zip", ".zip": "application/zip",
  ".html": "text/html" };
const statics = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const file = normalize(join(process.cwd(), path));
  if (!file.startsWith(process.cwd())) { res.writeHead(403).end(); return; }
  try {
    const body = await readFile(file);
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Cache-Control": "no-store" }).end(req.method === "HEAD" ? undefined : body);
  } catch { res.writeHead(404).end(); }
});
await new Promise((resolve) => statics.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${statics.address().port}`;
const names = Object.keys(engines).flatMap((e) => [`${e}-main`, `${e}-worker`]);
const git = spawn(python, ["tests/js/gitserver_cli.py", ...names, ...names.map((n) => `${n}-p:private`)],
  { stdio: ["pipe", "pipe", "inherit"] });
children.push(git);
const gitInfo = JSON.parse(await new Promise((resolve) => createInterface({ input: git.stdout }).once("line", resolve)));

const outcomes = []; // [label, ok, ms]

/** `window.webstoreTest[fn](arg)` in a fresh context; page errors fail it. */
async function inContext(browser, fn, arg) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${base}/tests/js/worker_scenario.html`);
    const result = await page.evaluate(([f, a]) => window.webstoreTest[f](a), [fn, arg]);
    errors.push(...await page.evaluate(() => window.webstoreTest.pageErrors()));
    if (errors.length) throw new Error(`page errors: ${[...new Set(errors)].join("; ")}`);
    return result;
  } finally {
    await context.close();
  }
}

/** Run one named check: `body` returns {failures, summary}. */
async function step(label, body) {
  const t0 = Date.now();
  try {
    const { failures, summary } = await body();
    if (failures.length) throw new Error(failures.join("\n  "));
    outcomes.push([label, true]);
    console.log(`ok ${label} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${summary}`);
  } catch (e) {
    outcomes.push([label, false]);
    console.log(`FAIL ${label} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${e.message}`);
  }
}

async function run(engine) {
  const browser = await engines[engine]();
  const ns = (what) => `${engine}-${what}-${Date.now()}-`;
  try {
    const args = (mode) => ({ worker: mode === "worker", ns: ns(mode),
      remote: gitInfo.repos[`${engine}-${mode}`].url,
      priv: gitInfo.repos[`${engine}-${mode}-p`].url,
      username: gitInfo.username, password: gitInfo.password });
    await step(`${engine}-worker scenario equals ${engine}-main`, async () => {
      const main = await inContext(browser, "scenario", args("main"));
      const worker = await inContext(browser, "scenario", args("worker"));
      return judge(main, worker);
    });
    await step(`${engine}-worker transfer, terminate, crash`, async () =>
      judgeWorkerOnly(await inContext(browser, "workerOnly", { ns: ns("only") })));
    await step(`${engine}-worker stopped without an error event`, async () =>
      judgeWorkerGone(await inContext(browser, "workerGone", { ns: ns("gone") })));
  } finally {
    await browser.close();
  }
}

for (const engine of only ? [only] : Object.keys(engines)) {
  try { await run(engine); } catch (e) {
    outcomes.push([engine, false]);
    console.log(`FAIL worker mode ${engine} (did not start?): ${e.message}`);
  }
}
const failed = outcomes.filter(([, ok]) => !ok).length;
console.log(`worker mode: ${outcomes.length - failed} passed, ${failed} failed`);
git.stdin.end();
statics.close();
process.exit(failed ? 1 : 0);
