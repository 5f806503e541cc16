// Drive the demo in real Chromium and Firefox (playwright-core 1.64.1, Debian browsers):
// load, edit a note, reload and see it, a second tab sees a live update, branch + merge with a
// conflict, screenshot under tests/artifacts/. Then sync: a Chromium tab and a Firefox tab
// (fresh profiles) each add a note and share it through the demo's Git remote (pull, push;
// the later push finds the server moved: pull, which merges, and push again) until both show
// both notes at the same commit.
// Usage: node tests/js/demo.browser.mjs BASE_URL [chromium|firefox|sync] (the sync part runs
// with "firefox", the last engine tests/js/run.sh asks for, with "sync", or with no engine).
import { chromium, firefox } from "playwright-core";
import { mkdir } from "node:fs/promises";

const base = process.argv[2];
const engines = {
  chromium: () => chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"] }),
  firefox: () => firefox.launch({ channel: "moz-firefox", executablePath: "/usr/bin/firefox-esr", headless: true }),
};
const only = process.argv[3];
await mkdir("tests/artifacts", { recursive: true });
let failed = 0;

function check(cond, what) { if (!cond) throw new Error(`check failed: ${what}`); }

async function run(name) {
  const browser = await engines[name]();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${base}/demo/`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 90_000 });
    const backend = await page.textContent("[data-testid=backend]");
    check(backend === "indexeddb", `${name} chose ${backend}`);
    const stamp = `<b>hi</b> ${Date.now()}`;
    await page.fill("[data-testid=note-title]", "shopping");
    await page.fill("[data-testid=note-text]", stamp);
    await page.click("[data-testid=save-note]");
    await page.getByText(stamp).waitFor();
    check(await page.locator("#notes b").count() >= 1, "note listed");
    check(await page.locator("#notes li b:has-text('hi')").count() === 0, "stored text is not HTML");
    // the sketch: draw, commit
    const box = await page.locator("canvas").boundingBox();
    await page.mouse.move(box.x + 20, box.y + 20); await page.mouse.down();
    await page.mouse.move(box.x + 200, box.y + 150, { steps: 5 }); await page.mouse.up();
    await page.click("[data-testid=save-canvas]");
    await page.locator("#history li", { hasText: "update sketch" }).first().waitFor();
    // reload: data is still there
    await page.reload();
    await page.waitForSelector("body[data-ready='1']", { timeout: 90_000 });
    await page.getByText(stamp).waitFor();
    // a second tab sees a live update through the watch
    const tab2 = await context.newPage();
    await tab2.goto(`${base}/demo/`);
    await tab2.waitForSelector("body[data-ready='1']", { timeout: 90_000 });
    check((await tab2.textContent("[data-testid=engine]")) === "in a worker", "engine in a worker");
    await tab2.fill("[data-testid=note-title]", "from-tab-2");
    await tab2.fill("[data-testid=note-text]", "live!");
    // the draft reaches the first tab through a key-value watch, before anything is committed
    await page.waitForFunction(() => document.querySelector("[data-testid=note-text]").value === "live!",
      null, { timeout: 20_000 });
    await tab2.click("[data-testid=save-note]");
    await page.getByText("live!").waitFor({ timeout: 20_000 });
    check((await page.textContent("[data-testid=live]")).includes("notes/from-tab-2"), "live banner");
    await tab2.close();
    // branch, diverge, merge with a conflict, resolve, merge
    const feature = `feature${Date.now() % 100000}`;
    await page.fill("[data-testid=fork-name]", feature);
    await page.click("[data-testid=fork]");
    await page.waitForFunction((f) => document.querySelector("[data-testid=branch]").value === f, feature);
    await page.fill("[data-testid=note-title]", "shopping");
    await page.fill("[data-testid=note-text]", "theirs");
    await page.click("[data-testid=save-note]");
    await page.locator("#notes li", { hasText: "theirs" }).waitFor();
    await page.selectOption("[data-testid=branch]", "main");
    await page.locator("#notes li", { hasText: stamp }).waitFor();
    await page.fill("[data-testid=note-title]", "shopping");
    await page.fill("[data-testid=note-text]", "ours");
    await page.click("[data-testid=save-note]");
    await page.locator("#notes li", { hasText: "ours" }).waitFor();
    await page.selectOption("[data-testid=merge-source]", feature);
    await page.click("[data-testid=merge]");
    await page.locator(".conflict", { hasText: "notes/shopping" }).waitFor();
    await page.screenshot({ path: `tests/artifacts/demo-${name}-conflict.png`, fullPage: true });
    await page.fill("[data-testid=note-text]", "theirs");
    await page.click("[data-testid=save-note]");
    await page.locator("#history li", { hasText: "edit note shopping" }).first().waitFor();
    await page.click("[data-testid=merge]");
    await page.getByText(`Merged ${feature} into main`).waitFor();
    // time travel: the first commit shows the first note text
    await page.locator("#history li").last().click();
    await page.locator("#diff .added").first().waitFor();
    await page.screenshot({ path: `tests/artifacts/demo-${name}.png`, fullPage: true });
    check(errors.length === 0, `page errors: ${errors.join("; ")}`);
    console.log(`ok demo ${name}`);
  } finally {
    await browser.close();
  }
}

// -- sync through the demo's Git remote -------------------------------------------------

async function syncTab(name, tabs) {
  const browser = await engines[name]();
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const tab = { name, browser, page, errors };
  tabs.push(tab); // closed by the caller, whatever happens next
  await page.goto(`${base}/demo/`);
  await page.waitForSelector("body[data-ready='1']", { timeout: 90_000 });
  const url = await page.inputValue("[data-testid=sync-url]");
  check(/^http:\/\/127\.0\.0\.1:\d+\//.test(url) && !url.startsWith(base),
    `${name}: the remote (${url}) is on another origin than the page (${base})`);
}

// Click Pull or Push and wait for that action's result: {state, error, text}.
async function syncAction(tab, action) {
  const box = "[data-testid=sync-result]";
  const seq = Number(await tab.page.getAttribute(box, "data-seq"));
  await tab.page.click(`[data-testid=${action}]`);
  await tab.page.waitForFunction(([sel, s]) => Number(document.querySelector(sel).dataset.seq) > s,
    [box, seq], { timeout: 60_000 });
  return tab.page.evaluate((sel) => {
    const b = document.querySelector(sel);
    return { state: b.dataset.state, error: b.dataset.error, text: b.textContent };
  }, box);
}

async function addNote(tab, title, text) {
  await tab.page.fill("[data-testid=note-title]", title);
  await tab.page.fill("[data-testid=note-text]", text);
  await tab.page.click("[data-testid=save-note]");
  await tab.page.locator("#notes li", { hasText: text }).waitFor();
}

async function expect(tab, action, want, what) {
  const got = await syncAction(tab, action);
  check(want(got), `${tab.name} ${action} (${what}): ${got.state} ${got.error} ${got.text}`);
  return got;
}

// Both tabs add a note and pull; Chromium pushes first, so Firefox's push finds the server
// moved (RefMoved); Firefox pulls (a merge) and pushes again; Chromium pulls (a fast-forward).
async function runSync() {
  const tabs = [];
  try {
    for (const name of ["chromium", "firefox"]) await syncTab(name, tabs);
    const [first, second] = tabs;
    const stamp = Date.now();
    const notes = tabs.map((t) => [`sync-${t.name}-${stamp}`, `from ${t.name} ${stamp}`]);
    await Promise.all(tabs.map((t, i) => addNote(t, ...notes[i])));
    const pulled = (got) => got.state === "ok" || got.error === "KeyNotFound"; // a new server
    await Promise.all(tabs.map((t) => expect(t, "pull", pulled, "before any push")));
    await expect(first, "push", (got) => got.state === "ok" && got.text.includes("fast-forwarded"), "first push");
    await expect(second, "push", (got) => got.state === "error" && got.error === "RefMoved", "server moved");
    await expect(second, "pull", (got) => got.state === "ok" && got.text.includes("merged"), "merge");
    await expect(second, "push", (got) => got.state === "ok", "after the merge");
    await expect(first, "pull", (got) => got.state === "ok" && got.text.includes("fast-forward"), "catch up");
    for (const tab of tabs) {
      for (const [, text] of notes) await tab.page.locator("#notes li", { hasText: text }).waitFor({ timeout: 20_000 });
      await tab.page.screenshot({ path: `tests/artifacts/demo-sync-${tab.name}.png`, fullPage: true });
      check(tab.errors.length === 0, `${tab.name} page errors: ${tab.errors.join("; ")}`);
    }
    const heads = await Promise.all(tabs.map((t) => t.page.evaluate(
      () => document.querySelector("#history li code")?.textContent.split(" ")[0])));
    check(heads[0] && heads[0] === heads[1], `both tabs at one commit: ${heads.join(" / ")}`);
    console.log(`ok demo sync chromium+firefox (both at ${heads[0]})`);
  } finally {
    for (const tab of tabs) await tab.browser.close();
  }
}

for (const name of only ? [only].filter((n) => n in engines) : Object.keys(engines)) {
  try { await run(name); } catch (e) { failed++; console.log(`FAIL demo ${name}: ${e.message}`); }
}
if (!only || only === "firefox" || only === "sync") {
  try { await runSync(); } catch (e) { failed++; console.log(`FAIL demo sync: ${e.message}`); }
}
process.exit(failed ? 1 : 0);
