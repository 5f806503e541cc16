"""The layering rules of the package, checked on its source (issue #7).

* Only ``webstore/platform/`` imports ``js`` or ``pyodide``.
* No import cycles among webstore modules, counting function-local imports and imports
  through a package ``__init__`` (imports under ``if TYPE_CHECKING:`` are types only).
* The CLI does not import the test suite.
* Every public way to move a ref announces the move to watchers (RefStore owns moves).
"""

from __future__ import annotations

import ast
import asyncio
import re
import warnings
from pathlib import Path

import pytest

import webstore
from webstore.backends import Backend, register_backend, registered_backends
from webstore.errors import InvalidArgument
from webstore.kv.typed import KINDS
from webstore.versioned import Repo, clone, fetch, pull, push
from webstore.versioned.ids import ObjectId

ROOT = Path(webstore.__file__).resolve().parent
REPO = ROOT.parent
PLATFORM = ROOT / "platform"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """webstore modules ``name`` imports at run time (anywhere in the file)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules)
    return {m for m in found if m in modules and m != name}


def test_only_the_platform_package_imports_js_or_pyodide() -> None:
    pattern = re.compile(r"^\s*(import js\b|from js |from pyodide|import pyodide)", re.M)
    offenders = [str(p.relative_to(REPO)) for p in ROOT.rglob("*.py")
                 if pattern.search(p.read_text()) and PLATFORM not in p.parents]
    assert offenders == []
    assert any(pattern.search(p.read_text()) for p in PLATFORM.glob("*.py"))


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_the_check_sees_a_cycle(tmp_path: Path) -> None:
    """The cycle finder is not vacuous: a function-local import that closes a loop counts."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("import webstore.kv\n")
    b.write_text("def f():\n    from webstore.errors import X\n")
    mods = {"webstore.kv": a, "webstore.errors": b}
    assert _imports("webstore.kv", a, mods) == set()  # itself
    assert _imports("webstore.errors", b, mods) == set()
    mods = {"webstore.x": a, "webstore.kv": b}
    a.write_text("import webstore.kv\n")
    b.write_text("def f():\n    from webstore.x import y\n")
    assert _imports("webstore.x", a, mods) == {"webstore.kv"}
    assert _imports("webstore.kv", b, mods) == {"webstore.x"}


def test_layers_do_not_import_the_platform_or_the_tests() -> None:
    modules = _modules()
    for name, path in modules.items():
        deps = _imports(name, path, modules)
        if name.startswith(("webstore.kv", "webstore.versioned", "webstore.backends")) \
                or name in ("webstore", "webstore.cli", "webstore._open", "webstore._runtime"):
            assert not any(d.startswith("webstore.platform") for d in deps), (name, deps)
        if not name.startswith("webstore.testing"):
            assert not any(d.startswith("webstore.testing") for d in deps), (name, deps)


def test_register_backend_refuses_to_replace_unless_asked() -> None:
    class Mine(Backend):
        pass

    register_backend("layering-mine", Mine)  # type: ignore[type-abstract]
    with pytest.raises(InvalidArgument, match="already registered"):
        register_backend("layering-mine", Mine)  # type: ignore[type-abstract]
    with pytest.raises(InvalidArgument, match="already registered"):
        register_backend("sqlite", Mine)  # type: ignore[type-abstract]
    register_backend("layering-mine", "somewhere:Else", replace=True)
    assert "layering-mine" in registered_backends()


def test_deprecated_spellings_warn_and_still_work(tmp_path: Path) -> None:
    async def go() -> None:
        with pytest.warns(DeprecationWarning, match="path="):
            store = await webstore.open("n", "memory", location="layering-dep")
        await store.close()
        repo = Repo.memory()
        await repo.branch("main").set("a", 1)
        with pytest.warns(DeprecationWarning, match="create_branch"):
            forked = await repo.fork("main", "dev")
        assert await forked.head() == await repo.branch("main").head()

    asyncio.run(go())


def test_every_public_ref_mover_announces_the_move() -> None:
    """commit, transaction, merge (ff and 3-way), create/delete branch, tag, push, pull, clone."""

    async def go() -> None:
        repo, other = Repo.memory(), Repo.memory()
        seen: list[tuple[str, str, bool, bool]] = []

        def watcher(label: str, target: Repo, ref: str) -> None:
            async def deliver(old: ObjectId | None, new: ObjectId | None) -> None:
                seen.append((label, ref, old is None, new is None))
            target.refs.watch(ref, deliver)

        for ref in ("heads/main", "heads/dev", "heads/gone", "tags/v1"):
            watcher("repo", repo, ref)
        for ref in ("heads/main", "tags/v1"):
            watcher("other", other, ref)

        def moved(label: str) -> list[tuple[str, str, bool, bool]]:
            got = list(seen)
            seen.clear()
            assert got, f"{label}: no watch fired"
            return got

        main = repo.branch("main")
        await main.set("a", 1)
        assert moved("commit") == [("repo", "heads/main", True, False)]
        async with main.transaction("tx") as tx:
            tx.set("b", 2)
        assert moved("transaction") == [("repo", "heads/main", False, False)]
        await repo.create_branch("dev", "main")
        assert moved("create_branch") == [("repo", "heads/dev", True, False)]
        await repo.branch("dev").set("c", 3)
        moved("commit on dev")
        assert (await repo.merge("main", "dev")).fast_forward
        assert moved("fast-forward merge") == [("repo", "heads/main", False, False)]
        await repo.branch("dev").set("d", 4)
        await main.set("e", 5)
        seen.clear()
        result = await repo.merge("main", "dev")
        assert result.ok and not result.fast_forward
        assert moved("merge commit") == [("repo", "heads/main", False, False)]
        await repo.create_branch("gone", "main")
        seen.clear()
        await repo.delete_branch("gone")
        assert moved("delete_branch") == [("repo", "heads/gone", False, True)]
        await repo.tag("v1", "main")
        assert moved("tag") == [("repo", "tags/v1", True, False)]
        await repo.delete_tag("v1")
        assert moved("delete_tag") == [("repo", "tags/v1", False, True)]
        await push(repo, other, "main")
        assert moved("push") == [("other", "heads/main", True, False)]
        await main.set("f", 6)
        seen.clear()
        await pull(other, repo, "main")
        assert moved("pull") == [("other", "heads/main", False, False)]
        third = Repo.memory()
        watcher("third", third, "heads/main")
        await repo.tag("v1", "main")
        seen.clear()
        await clone(repo, third)
        assert ("third", "heads/main", True, False) in moved("clone")
        # fetch copies objects and moves no ref: nothing to announce.
        await main.set("g", 7)
        seen.clear()
        await fetch(repo, third, [await main.head() or ObjectId(b"")])
        assert seen == []

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(go())


def _js_names(path: Path, pattern: str) -> list[str]:
    return re.findall(pattern, (REPO / path).read_text())


def test_typed_array_kinds_are_the_same_in_python_js_and_types() -> None:
    python = sorted(k.js_name for k in KINDS)
    values_js = sorted(_js_names(Path("wasm/js/values.js"), r'"(\w+Array)"'))
    dts = (REPO / "wasm/js/index.d.ts").read_text()
    union = dts[dts.index("export type TypedArray =") + len("export type TypedArray ="):]
    union = union[:union.index(";")]
    assert values_js == python
    assert sorted(re.findall(r"\b(\w+Array)\b", union)) == python


def test_error_classes_are_the_same_in_python_js_and_types() -> None:
    from webstore import errors

    python = sorted(n for n, v in vars(errors).items()
                    if isinstance(v, type) and issubclass(v, errors.WebstoreError))
    js = sorted(_js_names(Path("wasm/js/errors.js"), r"export class (\w+)"))
    pairs = re.findall(r"export class (\w+) extends (\w+)",
                       (REPO / "wasm/js/index.d.ts").read_text())
    dts = [name for name, base in pairs if base == "Error" or base in python]
    assert js == python
    assert sorted(dts) == python
