// A classic (non-module) dedicated worker using webstore: the loader is an ES module, which a
// classic worker reaches with a dynamic import(). Posts what it stored and read back.
(async () => {
  try {
    const { loadWebstore } = await import("/wasm/loader.mjs");
    const pyodide = await loadWebstore();
    const got = await pyodide.runPythonAsync(`
import json
import webstore
store = await webstore.open("classic", path="classic-worker")
await store.set("k", {"text": "milk", "n": [1, 2]})
json.dumps({"backend": store.backend.name, "value": await store.get("k"),
            "refused": store.selection.refused})`);
    postMessage({ ok: JSON.parse(got) });
  } catch (error) {
    postMessage({ error: `${error?.name}: ${error?.message}` });
  }
})();
