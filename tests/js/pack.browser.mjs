// The npm package as an app installs it, loaded in Chromium with no bundler: a static server
// serves the app directory, the page imports node_modules/webstore/wasm/js/index.js, and the
// loader must find the hoisted node_modules/pyodide on its own (no indexURL given).
// Usage: node tests/js/pack.browser.mjs BASE_URL   (the app directory served at BASE_URL)
import { chromium } from "playwright-core";

const base = process.argv[2];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"] });
let ok = false;
try {
  const page = await browser.newPage();
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
  await page.goto(`${base}/index.html`);
  const got = await page.evaluate(async () => {
    const { open } = await import("/node_modules/webstore/wasm/js/index.js");
    const store = await open("pack-browser");
    await store.set("pixels", new Float32Array([1.5, -2]));
    const back = await store.get("pixels");
    return { backend: store.backend, ok: back instanceof Float32Array && back[1] === -2 };
  });
  ok = got.ok && got.backend === "indexeddb" && outside.length === 0;
  console.log(ok ? `pack in chromium ok: ${got.backend}`
    : `pack in chromium FAILED: ${JSON.stringify(got)} outside requests: ${outside}`);
} finally {
  await browser.close();
}
process.exit(ok ? 0 : 1);
