"""The ``webstore`` command: the key-value store (and the versioned store) from a shell.

Values on the command line and in export files are JSON, with the tagged forms of
:mod:`webstore.kv.jsonform` for bytes, typed arrays, tuples and non-finite floats.
Exit codes: 0 success, 1 key not found, 2 bad input, 3 storage or network error (a damaged
object included), 4 diverged (``pull`` with conflicts, ``push`` of a branch the server moved).

The Git-server commands (``remote``, ``push``, ``pull``, ``fetch``, ``clone``) live in
:mod:`webstore.remote.cli`; that package (HTTP, TLS) is imported only when the command line
names one of them, or asks for the full help.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from json import JSONDecodeError, dumps, loads
from typing import IO, Any

from webstore._runtime import drive
from webstore.errors import IntegrityError, KeyNotFound, WebstoreError
from webstore.kv.jsonform import from_json, to_json
from webstore.kv.store import Store

__all__ = ["main", "open_cli_store"]

EXIT_OK, EXIT_MISSING, EXIT_BAD_INPUT, EXIT_STORAGE = 0, 1, 2, 3


async def open_cli_store(args: argparse.Namespace) -> Store:
    """The store named by ``--store``/``--name`` (SQLite; default path otherwise)."""
    from webstore._open import open as open_store

    return await open_store(args.name, backend="sqlite", path=args.store)


def _parse_value(text: str) -> Any:
    try:
        return from_json(loads(text))
    except JSONDecodeError as exc:
        raise _BadInput(f"VALUE is not valid JSON ({exc}); quote strings: '\"hi\"'") from None


class _BadInput(Exception):
    """A command-line argument that cannot be used; exit code 2."""


def _dump(value: Any, out: IO[str]) -> None:
    out.write(dumps(to_json(value), ensure_ascii=False, allow_nan=False) + "\n")


async def _cmd_set(store: Store, args: argparse.Namespace) -> int:
    await store.set(args.key, _parse_value(args.value))
    return EXIT_OK


async def _cmd_get(store: Store, args: argparse.Namespace) -> int:
    _dump(await store.require(args.key), sys.stdout)
    return EXIT_OK


async def _cmd_delete(store: Store, args: argparse.Namespace) -> int:
    if not await store.has(args.key):
        raise KeyNotFound(args.key, where=f"store {store.name!r}")
    await store.delete(args.key)
    return EXIT_OK


async def _cmd_keys(store: Store, args: argparse.Namespace) -> int:
    for key in await store.keys(args.prefix):
        print(dumps(key, ensure_ascii=False) if args.json else key)
    return EXIT_OK


async def _cmd_export(store: Store, args: argparse.Namespace) -> int:
    out = open(args.file, "w", encoding="utf-8") if args.file != "-" else sys.stdout  # noqa: SIM115
    try:
        for key, value in await store.items(args.prefix):
            row = {"key": key, "value": to_json(value)}
            out.write(dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return EXIT_OK


async def _cmd_import(store: Store, args: argparse.Namespace) -> int:
    src = open(args.file, encoding="utf-8") if args.file != "-" else sys.stdin  # noqa: SIM115
    pairs: list[tuple[str, Any]] = []
    try:
        for lineno, line in enumerate(src, 1):
            if not line.strip():
                continue
            try:
                row = loads(line)
                pairs.append((row["key"], from_json(row["value"])))
            except (JSONDecodeError, KeyError, TypeError) as exc:
                raise _BadInput(
                    f"line {lineno}: expected {{\"key\": ..., \"value\": ...}}: {exc}"
                ) from None
    finally:
        if src is not sys.stdin:
            src.close()
    await store.set_many(pairs)  # all lines or none
    print(f"imported {len(pairs)} keys", file=sys.stderr)
    return EXIT_OK


async def _cmd_info(store: Store, args: argparse.Namespace) -> int:
    backend = store.backend
    print(dumps({
        "backend": backend.name, "path": str(getattr(backend, "path", "")), "name": store.name,
        "reason": store.selection.reason if store.selection else None,
        "capabilities": vars(backend.capabilities), "keys": len(await store.keys()),
    }, indent=2))
    return EXIT_OK


Command = Callable[[Store, argparse.Namespace], Coroutine[Any, Any, int]]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (versioned-store and Git-server subcommands when available)."""
    return _build(remote=True)[0]


def _build(*, remote: bool) -> tuple[argparse.ArgumentParser, dict[str, Any]]:
    """The parser and its subcommands; ``remote``: with those of :mod:`webstore.remote.cli`."""
    parser = argparse.ArgumentParser(
        prog="webstore", description="Key-value and versioned storage (SQLite by default).")
    parser.add_argument("--store", metavar="PATH", default=None,
                        help="SQLite file (default: $WEBSTORE_PATH or the user data directory)")
    parser.add_argument("--name", default="default", help="store namespace (default: default)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(kv_command=fn)
        return p

    add("set", _cmd_set, "store JSON VALUE under KEY").add_argument("key")
    sub.choices["set"].add_argument("value", metavar="JSON")
    add("get", _cmd_get, "print the value of KEY as JSON (exit 1 if missing)").add_argument("key")
    add("delete", _cmd_delete, "delete KEY (exit 1 if missing)").add_argument("key")
    p = add("keys", _cmd_keys, "list keys, sorted, optionally under PREFIX")
    p.add_argument("prefix", nargs="?", default="")
    p.add_argument("--json", action="store_true", help="print each key as a JSON string")
    p = add("export", _cmd_export, "write every key as JSON lines {key, value}")
    p.add_argument("file", nargs="?", default="-")
    p.add_argument("--prefix", default="")
    add("import", _cmd_import, "read JSON lines {key, value}; all or nothing").add_argument(
        "file", nargs="?", default="-")
    add("info", _cmd_info, "show the backend, file and capabilities")
    try:
        from webstore.versioned import cli as versioned_cli
    except ImportError:
        pass
    else:
        versioned_cli.add_subcommands(sub)
    if remote:
        from webstore.remote.cli import add_subcommands as add_remote_subcommands

        add_remote_subcommands(sub)
    return parser, sub.choices


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named by ``argv`` (after the global options), ``None`` if unclear."""
    words = iter(argv)
    for word in words:
        if word in ("--store", "--name"):
            next(words, None)
        elif not word.startswith("-"):
            return word
        elif not word.startswith(("--store=", "--name=")):
            return None  # -h, or an option argparse may expand: build the whole parser
    return None


def _run(coro: Coroutine[Any, Any, int]) -> int:
    return drive(coro)


async def _main(args: argparse.Namespace) -> int:
    store = await open_cli_store(args)
    try:
        result: int = await args.kv_command(store, args)
        return result
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``webstore`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, commands = _build(remote=False)
    if _command_of(argv) not in commands:  # a Git-server command, or help: load them all
        parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "kv_command"):
            return _run(_main(args))
        handler = args.handler
        result = handler(args)
        return _run(result) if isinstance(result, Coroutine) else int(result)
    except KeyNotFound as exc:
        print(f"webstore: {exc}", file=sys.stderr)
        return EXIT_MISSING
    except IntegrityError as exc:
        print(f"webstore: {exc}", file=sys.stderr)
        return EXIT_STORAGE
    except (_BadInput, ValueError, TypeError) as exc:
        print(f"webstore: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (WebstoreError, OSError) as exc:
        print(f"webstore: {exc}", file=sys.stderr)
        return EXIT_STORAGE
