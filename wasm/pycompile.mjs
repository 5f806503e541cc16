// Add bytecode to pure-Python wheels, compiled by the Pyodide that will run them.
//
//   node wasm/pycompile.mjs dist/webstore-0.1.0-py3-none-any.whl [more.whl ...]
//
// A wheel of .py files makes Pyodide compile every module on every page load: measured in
// Node, `import webstore.platform.jsapi` spent 192 of 374 ms in `compile`. Each .py here gets
// a `__pycache__/<name>.cpython-3XX.pyc` beside it (listed in RECORD), compiled by this
// Pyodide's own Python so the magic number matches, as an *unchecked-hash* pyc: the importer
// uses it without comparing it to the source's mtime, which a wheel install does not keep.
// The .py files stay (tracebacks, reading). A Python of another version looks for its own
// cache tag, finds none, and compiles the source as before. Run by wasm/build.py.
import { createRequire } from "node:module";
import { resolve } from "node:path";

const require = createRequire(import.meta.url);
const { loadPyodide } = require("pyodide");

const wheels = process.argv.slice(2).map((p) => resolve(p));
if (wheels.length === 0) {
  console.error("usage: node wasm/pycompile.mjs WHEEL...");
  process.exit(2);
}
const pyodide = await loadPyodide();
pyodide.FS.mkdirTree("/host");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: "/" }, "/host");
pyodide.globals.set("wheels", pyodide.toPy(wheels.map((p) => `/host${p}`)));
const report = pyodide.runPython(`
import base64, hashlib, os, py_compile, sys, tempfile, zipfile

def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"

def add_bytecode(path):
    with zipfile.ZipFile(path) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    names = {info.filename for info, _ in entries}
    if any("/__pycache__/" in n or n.startswith("__pycache__/") for n in names):
        return f"{os.path.basename(path)}: has bytecode already"
    record = next(n for n in names if n.endswith(".dist-info/RECORD"))
    tag = sys.implementation.cache_tag
    added, skipped = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for info, data in entries:
            if not info.filename.endswith(".py"):
                continue
            folder, file = os.path.split(info.filename)
            source = os.path.join(tmp, "source.py")
            target = os.path.join(tmp, "out.pyc")
            with open(source, "wb") as f:
                f.write(data)
            try:
                py_compile.compile(source, target, dfile=info.filename, doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:
                skipped += 1  # e.g. a file for another Python version: left as source
                continue
            with open(target, "rb") as f:
                pyc = f.read()
            name = "/".join(p for p in (folder, "__pycache__", f"{file[:-3]}.{tag}.pyc") if p)
            added.append((name, pyc))
    fresh = path + ".tmp"
    with zipfile.ZipFile(fresh, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in entries:
            if info.filename != record:
                out.writestr(info, data)
        for name, pyc in added:
            out.writestr(name, pyc)
        text = next(d for i, d in entries if i.filename == record).decode()
        lines = text.rstrip("\\n").split("\\n")
        rows = [l for l in lines if not l.startswith(record + ",")]
        rows += [record_line(n, d) for n, d in added] + [f"{record},,"]
        out.writestr(record, "\\n".join(rows) + "\\n")
    os.replace(fresh, path)
    return f"{os.path.basename(path)}: {len(added)} modules compiled ({tag}), {skipped} left as source"

"\\n".join(add_bytecode(w) for w in wheels)
`);
console.log(report);
