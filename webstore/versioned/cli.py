"""Versioned-store subcommands of ``python -m webstore`` on the SQLite default store.

``log``, ``diff``, ``branch``, ``merge``, ``fsck``, ``export-git``, ``commit``, ``show``;
``--store PATH`` and ``--name NAME`` are the top-level parser's global options.

The top-level CLI calls :func:`add_subcommands`; each handler takes the parsed arguments and
returns an exit code (0 ok, 1 conflicts / corruption found, 2 bad input). ``commit`` and
``show`` leave errors to ``webstore.cli.main``, which gives the CLI's usual codes (1 not found,
2 bad input, 3 storage error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta, timezone
from json import JSONDecodeError, dumps, loads
from typing import Any

from webstore._runtime import drive
from webstore.errors import InvalidArgument, KeyNotFound, WebstoreError
from webstore.kv.jsonform import from_json, to_json
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


def run(body: Callable[[Repo, argparse.Namespace], Awaitable[int]], *,
        catch: bool = True) -> Handler:
    """Turn an async ``body(repo, args)`` into a handler that opens and closes the repo.

    ``catch``: print a webstore error and return 2; otherwise the error propagates (the
    top-level CLI turns it into its exit code).
    """

    def handler(args: argparse.Namespace) -> int:
        async def main() -> int:
            repo = await _open(args)
            try:
                return await body(repo, args)
            finally:
                await repo.close()

        if not catch:
            return _drive(main())
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


async def _commit(repo: Repo, args: argparse.Namespace) -> int:
    branch = repo.branch(args.branch)
    if args.remove:
        if args.value is not None:
            raise InvalidArgument("commit --remove takes PATH only, not a value",
                                  argument="JSON")
        if not await branch.has(args.path) and not await branch.list(args.path):
            raise KeyNotFound(args.path, where=f"branch {args.branch!r}")
        head = await branch.remove(args.path, message=args.message)
    else:
        if args.value is None:
            raise InvalidArgument("commit needs PATH and a JSON value (or --remove PATH)",
                                  argument="JSON")
        try:
            value = from_json(loads(args.value))
        except JSONDecodeError as exc:
            raise InvalidArgument(f"JSON is not valid JSON ({exc}); quote strings: '\"hi\"'",
                                  argument="JSON") from None
        head = await branch.set(args.path, value, message=args.message)
    print(to_hex(head) if head else "-")
    return 0


async def _show_rev(repo: Repo, args: argparse.Namespace) -> int:
    rev, sep, path = args.target.partition(":")
    if sep:
        value = await (await repo.at(rev)).require(path)
        print(dumps(to_json(value), ensure_ascii=False, allow_nan=False))
        return 0
    oid = await repo.resolve(rev)
    commit = await repo.objects.read_commit(oid)
    author = commit.author
    when = datetime.fromtimestamp(author.time, timezone(timedelta(minutes=author.tz_minutes)))
    print(f"commit {to_hex(oid)}")
    if len(commit.parents) > 1:
        print("Merge: " + " ".join(to_hex(p)[:12] for p in commit.parents))
    print(f"Author: {author.name} <{author.email}>")
    print(f"Date:   {when:%Y-%m-%d %H:%M:%S %z}\n")
    for line in commit.message.rstrip("\n").splitlines() or [""]:
        print(f"    {line}")
    print()
    parent = commit.parents[0] if commit.parents else None
    for c in await repo.diff(parent, oid):
        kind = "A" if isinstance(c, Added) else "D" if isinstance(c, Removed) else "M"
        print(f"{kind} {c.path}")
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Register the versioned-store subcommands (log ... export-git, commit, show)."""
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
    p = subparsers.add_parser(
        "commit", help="set (or --remove) one path on a branch and commit; prints the commit id",
        description="Set PATH to the JSON value (tagged forms of webstore.kv.jsonform for "
                    "bytes, typed arrays...) on BRANCH and commit; --remove PATH removes it.")
    p.add_argument("path", metavar="PATH")
    p.add_argument("value", metavar="JSON", nargs="?")
    p.add_argument("--remove", action="store_true", help="remove PATH (a value or a subtree)")
    p.add_argument("-m", "--message", required=True)
    p.add_argument("--branch", default="main")
    p.set_defaults(handler=run(_commit, catch=False))
    p = subparsers.add_parser(
        "show", help="REV:PATH prints a value as JSON; REV prints a commit and its changes",
        description="REV:PATH prints the value at PATH in REV (a branch, tag or commit id) as "
                    "JSON; REV alone prints the commit (id, author, date, message) and the "
                    "paths it changed against its first parent (A added, D removed, "
                    "M modified).")
    p.add_argument("target", metavar="REV[:PATH]")
    p.set_defaults(handler=run(_show_rev, catch=False))
