// A bundled consumer: imports the package by name; Pyodide and the wheels are copied to
// public/ by vite.config.js and found through indexURL / distURL.
import { open, openRepo } from "webstore";

const out = document.getElementById("out");
try {
  const options = { indexURL: new URL("pyodide/", location.href).href, distURL: new URL("webstore-dist/", location.href).href };
  const store = await open("vite", options);
  await store.set("a", new Float64Array([1.5, 2.5]));
  const back = await store.get("a");
  const repo = await openRepo("vite", options);
  const id = await repo.branch("main").set("x", "y", { message: "m" });
  const ok = back instanceof Float64Array && back[1] === 2.5 && id.length === 64;
  out.textContent = ok ? `vite ok ${store.backend}` : "vite FAILED";
} catch (e) {
  out.textContent = `vite FAILED ${e.name}: ${e.message}`;
}
