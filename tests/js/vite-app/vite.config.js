import { defineConfig } from "vite";
import { cpSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));
// Pyodide and webstore's wheels are runtime files, not modules: copy them next to the app.
mkdirSync(`${here}public`, { recursive: true });
cpSync(`${root}node_modules/pyodide`, `${here}public/pyodide`, { recursive: true });
// Leave out wasm/dist/test/ (the test wheels): compare the path *inside* wasm/dist, so a
// checkout that itself lives under a folder named "test..." still copies everything else.
const dist = `${root}wasm/dist`;
cpSync(dist, `${here}public/webstore-dist`, { recursive: true,
  filter: (src) => !src.slice(dist.length).startsWith("/test") });

export default defineConfig({
  root: here,
  base: "./",
  resolve: { alias: { webstore: `${root}wasm/js/index.js` } },
  build: { outDir: `${here}dist`, emptyOutDir: true, target: "es2022" },
  // webstore's `{ worker: true }` mode starts a module worker (wasm/js/worker.js), which Vite
  // bundles only as an ES module (README, "Workers": the same line goes in an app's config).
  worker: { format: "es" },
  logLevel: "warn",
});
