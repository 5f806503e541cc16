// Drive the demo in real Chromium and Firefox (playwright-core 1.64.1, Debian browsers):
// load, edit a note, reload and see it, a second tab sees a live update, branch + merge with a
// conflict, screenshot under tests/artifacts/. Usage: node tests/js/demo.browser.mjs BASE_URL
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
    await tab2.fill("[data-testid=note-title]", "from-tab-2");
    await tab2.fill("[data-testid=note-text]", "live!");
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

for (const name of only ? [only] : Object.keys(engines)) {
  try { await run(name); } catch (e) { failed++; console.log(`FAIL demo ${name}: ${e.message}`); }
}
process.exit(failed ? 1 : 0);
