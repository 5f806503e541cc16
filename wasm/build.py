#!/usr/bin/env python3
"""Build the offline Pyodide distribution of webstore into ``wasm/dist/``.

Pyodide's npm package ships the interpreter only; the wheels its lock file names would be
fetched from a CDN. So we ship every wheel we need ourselves, with lock files of our own:

* ``pyodide-lock.json``       webstore + msgpack's real Pyodide wheel (cp314, C extension)
* ``pyodide-lock-pure.json``  webstore + a pure-Python msgpack wheel (any other Pyodide ABI)
* ``pyodide-lock-test.json``  the first one plus hypothesis, pytest and their pure deps
* ``build-info.json``         the Pyodide version and ABI the native wheels are for

The pure wheels (webstore, the test wheels) get Pyodide's own bytecode added
(``wasm/pycompile.mjs``), so a page load does not compile them again.

Each lock copies ``info`` from ``node_modules/pyodide/pyodide-lock.json`` (run ``npm install``
first) and lists ``file_name`` relative to ``wasm/dist/``. Only pip and npm touch the
network (PyPI / npm registry). Usage: ``python3 wasm/build.py [--skip-test-wheels]``.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "wasm" / "dist"
PYODIDE_DIR = ROOT / "node_modules" / "pyodide"
PYODIDE_PLATFORM = "pyemscripten_2026_0_wasm32"
PYODIDE_PYTHON = "3.14"
#: Pure wheels needed to run the conformance suite and state machine inside Pyodide.
TEST_REQUIREMENTS = ["hypothesis>=6.100", "pytest>=8"]
#: Markers of the Pyodide interpreter, to evaluate Requires-Dist of the test wheels.
MARKER_ENV = {
    "python_version": "3.14", "python_full_version": "3.14.2", "sys_platform": "emscripten",
    "platform_system": "Emscripten", "os_name": "posix", "implementation_name": "cpython",
    "platform_python_implementation": "CPython", "platform_machine": "wasm32",
    "platform_release": "", "platform_version": "", "implementation_version": "3.14.2",
    "extra": "",
}


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, **(env or {})})


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "-q"], env=env)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_metadata(path: Path) -> tuple[str, str, list[str], list[str]]:
    """Name, version, top-level import names and unconditional dependencies of a wheel."""
    try:
        from packaging.markers import Marker
        from packaging.requirements import Requirement
    except ImportError:  # pip vendors it; every host with pip has it
        from pip._vendor.packaging.markers import Marker
        from pip._vendor.packaging.requirements import Requirement

    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
        top_level_name = meta_name.replace("METADATA", "top_level.txt")
        if top_level_name in names:
            imports = zf.read(top_level_name).decode().split()
        else:
            imports = sorted({
                n.split("/")[0].removesuffix(".py") for n in names
                if not n.split("/")[0].endswith((".dist-info", ".data"))
                and ("/" in n or n.endswith(".py"))
            })
    depends = []
    for spec in meta.get_all("Requires-Dist") or []:
        req = Requirement(spec)
        if req.marker is None or Marker(str(req.marker)).evaluate(MARKER_ENV):
            depends.append(normalize(req.name))
    imports = [i for i in imports if not i.startswith("_") or i == "_pytest"]
    return normalize(meta["Name"]), meta["Version"], imports, sorted(set(depends))


def lock_entry(path: Path, package_type: str = "package") -> dict[str, object]:
    name, version, imports, depends = wheel_metadata(path)
    return {
        "name": name, "version": version,
        "file_name": path.relative_to(DIST).as_posix(),
        "install_dir": "site", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "package_type": package_type, "imports": imports, "depends": depends,
        "unvendored_tests": False, "shared_library": False,
    }


def write_lock(file_name: str, wheels: list[Path], info: dict[str, object]) -> None:
    packages = {}
    for wheel in wheels:
        entry = lock_entry(wheel)
        packages[str(entry["name"])] = entry
    missing = {d for e in packages.values() for d in e["depends"]} - set(packages)  # type: ignore[attr-defined]
    if missing:
        raise SystemExit(f"{file_name}: dependencies without a wheel: {sorted(missing)}")
    lock = {"info": info, "packages": packages}
    (DIST / file_name).write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")
    print(f"wrote {file_name}: {', '.join(sorted(packages))}")


def add_bytecode(*wheels: Path) -> None:
    """Pyodide's own bytecode beside each module (``wasm/pycompile.mjs`` says why)."""
    run(["node", str(ROOT / "wasm" / "pycompile.mjs"), *map(str, wheels)])


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"expected one {pattern} in {folder}, found {found}")
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-test-wheels", action="store_true",
                        help="build only the runtime distribution")
    args = parser.parse_args()
    pyodide_lock = PYODIDE_DIR / "pyodide-lock.json"
    if not pyodide_lock.exists():
        run(["npm", "install", "--no-audit", "--no-fund"])
    info = json.loads(pyodide_lock.read_text())["info"]

    if DIST.exists():
        shutil.rmtree(DIST)
    (DIST / "pure").mkdir(parents=True)

    # 1. webstore itself ("./": a bare name would fetch a PyPI project of that name).
    pip("wheel", "--no-deps", "./", "-w", str(DIST))
    webstore_wheel = only(DIST, "webstore-*.whl")
    with zipfile.ZipFile(webstore_wheel) as zf:
        shipped = set(zf.namelist())
    for js in (ROOT / "webstore").rglob("*.js"):  # JS helpers are package data
        if js.relative_to(ROOT).as_posix() not in shipped:
            raise SystemExit(f"{js.relative_to(ROOT)} is missing from the webstore wheel")
    add_bytecode(webstore_wheel)

    # 2. msgpack: the real Pyodide wheel, and a pure-Python fallback built from the sdist.
    pip("download", "--no-deps", "--only-binary=:all:", "--platform", PYODIDE_PLATFORM,
        "--python-version", PYODIDE_PYTHON, "msgpack", "-d", str(DIST))
    msgpack_native = only(DIST, "msgpack-*-cp314-*.whl")
    pip("wheel", "--no-deps", "--no-binary", "msgpack", "msgpack", "-w", str(DIST / "pure"),
        env={"MSGPACK_PUREPYTHON": "1"})
    msgpack_pure = only(DIST / "pure", "msgpack-*-py3-none-any.whl")
    with zipfile.ZipFile(msgpack_pure) as zf:
        if any(n.endswith(".so") for n in zf.namelist()):
            raise SystemExit(f"{msgpack_pure.name} is not pure Python")

    write_lock("pyodide-lock.json", [webstore_wheel, msgpack_native], info)
    pyodide_version = json.loads((PYODIDE_DIR / "package.json").read_text())["version"]
    build_info = {"pyodide_version": pyodide_version, "abi_version": info["abi_version"],
                  "webstore_wheel": webstore_wheel.name}
    (DIST / "build-info.json").write_text(json.dumps(build_info, indent=1) + "\n")
    write_lock("pyodide-lock-pure.json", [webstore_wheel, msgpack_pure], info)

    # 3. Test wheels: pure ones only, resolved for Pyodide's Python.
    if not args.skip_test_wheels:
        test_dir = DIST / "test"
        pip("download", "--only-binary=:all:", "--platform", "any", "--python-version",
            PYODIDE_PYTHON, "--implementation", "py", "--abi", "none", "-d", str(test_dir),
            *TEST_REQUIREMENTS)
        test_wheels = sorted(test_dir.glob("*.whl"))
        add_bytecode(*test_wheels)
        write_lock("pyodide-lock-test.json", [webstore_wheel, msgpack_native, *test_wheels],
                   info)
    print(f"done: {DIST.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
