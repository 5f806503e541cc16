"""Versioned-store subcommands of ``python -m webstore`` on the SQLite default store.

``log``, ``diff``, ``branch``, ``merge``, ``fsck``, ``export-git``; ``--store PATH`` and
``--name NAME`` are the top-level parser's global options.

The top-level CLI calls :func:`add_subcommands`; each handler takes the parsed arguments and
returns an exit code (0 ok, 1 conflicts / corruption found, 2 bad input).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from json import dumps
from typing import Any

from webstore._runtime import drive
from webstore.errors import WebstoreError
from webstore.versioned.diff import Added, Removed, Updated
from webstore.versioned.fsck import fsck
from webstore.versioned.git_export import export_git
from webstore.versioned.ids import to_hex
from webstore.versioned.repo import Repo

__all__ = ["add_subcommands", "run"]

Handler = Callable[[argparse.Namespace], int]


def _show(value: Any) -> str:
    try:
        return dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


async def _open(args: argparse.Namespace) -> Repo:
    name = getattr(args, "name", None) or "default"
    return await Repo.open(name, backend="sqlite", path=getattr(args, "store", None))


def run(body: Callable[[Repo, argparse.Namespace], Awaitable[int]]) -> Handler:
    """Turn an async ``body(repo, args)`` into a handler that opens and closes the repo."""

    def handler(args: argparse.Namespace) -> int:
        async def main() -> int:
            repo = await _open(args)
            try:
                return await body(repo, args)
            finally:
                await repo.close()

        try:
            return _drive(main())
        except (WebstoreError, KeyError) as exc:
            print(f"webstore: {exc}", file=sys.stderr)
            return 2

    return handler


def _drive(coro: Coroutine[Any, Any, int]) -> int:
    return drive(coro)


async def _log(repo: Repo, args: argparse.Namespace) -> int:
    page = await repo.history(args.rev, limit=args.n)
    for e in page.entries:
        when = datetime.fromtimestamp(e.commit.committer.time, UTC)
        print(f"{e.hex[:12]} {when:%Y-%m-%d %H:%M:%S} {e.commit.author.name}  {e.message}")
    return 0


async def _diff(repo: Repo, args: argparse.Namespace) -> int:
    for c in await repo.diff(args.a, args.b, prefix=args.prefix):
        if isinstance(c, Added):
            print(f"+ {c.path} = {_show(c.value)}")
        elif isinstance(c, Removed):
            print(f"- {c.path} = {_show(c.value)}")
        elif isinstance(c, Updated):
            print(f"~ {c.path}: {_show(c.old)} -> {_show(c.new)}")
    return 0


async def _branch(repo: Repo, args: argparse.Namespace) -> int:
    if args.delete:
        await repo.delete_branch(args.delete)
    elif args.new:
        await repo.create_branch(args.new, args.start or "main")
    else:
        for name in await repo.branches():
            head = await repo.branch(name).head()
            print(f"{name} {to_hex(head) if head else '-'}")
    return 0


async def _merge(repo: Repo, args: argparse.Namespace) -> int:
    result = await repo.merge(args.into, args.source, message=args.message)
    if not result.ok:
        for c in result.conflicts:
            print(f"CONFLICT {c.path}: base={_show(c.base)} ours={_show(c.ours)} "
                  f"theirs={_show(c.theirs)}")
        return 1
    kind = "fast-forward" if result.fast_forward else "merged" if result.changed else \
        "already up to date"
    print(f"{kind}: {to_hex(result.commit) if result.commit else '-'}")
    return 0


async def _fsck(repo: Repo, args: argparse.Namespace) -> int:
    report = await fsck(repo)
    for oid, ref in report.missing.items():
        print(f"missing {oid} (referenced by {ref})")
    for oid, why in report.corrupt.items():
        print(f"corrupt {oid}: {why}")
    for name, why in report.bad_refs.items():
        print(f"bad ref {name}: {why}")
    dangling = f", {report.dangling} dangling" if report.dangling else ""
    print(f"checked {report.checked} objects from {report.refs} refs{dangling}: "
          f"{'ok' if report.ok else 'PROBLEMS FOUND'}")
    return 0 if report.ok else 1


async def _export(repo: Repo, args: argparse.Namespace) -> int:
    count = await export_git(repo, args.directory)
    print(f"wrote {count} objects to {args.directory}/.git (sha256)")
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Register log / diff / branch / merge / fsck / export-git on an argparse subparsers."""
    p = subparsers.add_parser("log", help="commits of a branch, newest first")
    p.add_argument("rev", nargs="?", default="main")
    p.add_argument("-n", type=int, default=50, help="how many commits")
    p.set_defaults(handler=run(_log))
    p = subparsers.add_parser("diff", help="changes between two commits/branches/tags")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--prefix", default="")
    p.set_defaults(handler=run(_diff))
    p = subparsers.add_parser("branch", help="list, create (NAME [START]) or delete branches")
    p.add_argument("new", nargs="?")
    p.add_argument("start", nargs="?")
    p.add_argument("-d", "--delete", metavar="NAME")
    p.set_defaults(handler=run(_branch))
    p = subparsers.add_parser("merge", help="three-way merge SOURCE into a branch")
    p.add_argument("source")
    p.add_argument("--into", default="main")
    p.add_argument("-m", "--message")
    p.set_defaults(handler=run(_merge))
    p = subparsers.add_parser("fsck", help="verify every reachable object")
    p.set_defaults(handler=run(_fsck))
    p = subparsers.add_parser("export-git", help="write a real sha256 Git repository")
    p.add_argument("directory")
    p.set_defaults(handler=run(_export))
