"""Git-server subcommands of ``webstore``: ``remote``, ``push``, ``pull``, ``fetch``, ``clone``.

Remotes are kept in the repo's SQLite file, in the reserved key-value namespace
``~remotes/<repo name>`` (``--name``): one key per remote, the value ``{"url": URL}``. Only
URLs are kept, never credentials: a URL with ``user:pass@`` is refused. Credentials come from
``WEBSTORE_GIT_USERNAME`` / ``WEBSTORE_GIT_PASSWORD`` or, only when the server answers
"authentication failed" and stdin is a terminal, from a prompt; never from an argument (shell
history), and they are never printed.

Exit codes as the other commands (0 ok, 1 not found, 2 bad input, 3 storage or network error,
authentication failures included) and 4 when histories diverged: ``pull`` with conflicts
(listed; nothing committed) or ``push`` of a branch the server has moved on (pull first).
``webstore.cli`` imports this module only when one of these commands runs.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from webstore._runtime import services
from webstore.errors import (
    AuthenticationFailed,
    InvalidArgument,
    KeyNotFound,
    RefMoved,
)
from webstore.kv.store import Store
from webstore.remote import GitRemote, clone, fetch, pull, push
from webstore.versioned.ids import ObjectId, to_hex
from webstore.versioned.repo import Repo

__all__ = ["ENV_PASSWORD", "ENV_USERNAME", "REMOTES_NAMESPACE", "add_subcommands"]

ENV_USERNAME, ENV_PASSWORD = "WEBSTORE_GIT_USERNAME", "WEBSTORE_GIT_PASSWORD"
#: Key-value namespace holding the remotes of the repo ``name``: ``REMOTES_NAMESPACE + name``.
REMOTES_NAMESPACE = "~remotes/"
EXIT_DIVERGED = 4
_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

T = TypeVar("T")
Handler = Callable[[argparse.Namespace], int]


# -- remotes and credentials -----------------------------------------------------------------

def _check_url(url: str) -> str:
    """``url`` if it is an http(s) URL without credentials; :class:`InvalidArgument` if not."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument(
            f"the URL for {parts.hostname} carries credentials (user:pass@), which webstore never "
            f"stores or takes as an argument; give the URL without them and set {ENV_USERNAME} "
            f"and {ENV_PASSWORD}", argument="URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(f"URL must be an http:// or https:// URL, not {url!r}",
                              argument="URL")
    return url


def _check_name(name: str) -> str:
    if not _REMOTE_NAME.fullmatch(name):
        raise InvalidArgument(f"remote name must be letters, digits, '.', '_' or '-' (not "
                              f"starting with one of the last three), not {name!r}",
                              argument="NAME")
    return name


async def _remotes(store: Store) -> dict[str, str]:
    """Remote name -> URL."""
    return {name: value["url"] for name, value in await store.items()}


async def _url_of(store: Store, remote: str) -> str:
    """The URL of the remote named ``remote``, or ``remote`` itself when it is a URL."""
    if "://" in remote:
        return _check_url(remote)
    found = await store.get(_check_name(remote))
    if found is None:
        raise KeyNotFound(remote, where="remotes (add one: webstore remote add NAME URL)")
    url: str = found["url"]
    return url


def _prompt(url: str, username: str | None) -> tuple[str, str]:
    """Ask the terminal for what the environment did not give."""
    print(f"webstore: {url} asks for credentials", file=sys.stderr)
    if username is None:
        sys.stderr.write("Username: ")
        sys.stderr.flush()
        username = sys.stdin.readline().rstrip("\r\n")
    return username, getpass.getpass(f"Password for {url}: ")


async def _talk(url: str, op: Callable[[GitRemote], Awaitable[T]]) -> T:
    """Run ``op`` on the server at ``url``, with credentials from the environment or a prompt.

    An authentication failure is retried once with prompted credentials when none came from
    the environment and stdin is a terminal; otherwise it is raised with a hint.
    """
    username = os.environ.get(ENV_USERNAME) or None
    password = os.environ.get(ENV_PASSWORD) or None
    if password is not None and username is None:
        raise InvalidArgument(f"{ENV_PASSWORD} is set but {ENV_USERNAME} is not",
                              argument=ENV_USERNAME)
    while True:
        try:
            return await op(GitRemote(url, username=username, password=password))
        except AuthenticationFailed as exc:
            if password is not None or not sys.stdin.isatty():  # given, or asked already
                raise AuthenticationFailed(f"{exc}; give credentials in {ENV_USERNAME} and "
                                           f"{ENV_PASSWORD}", backend="git-remote",
                                           reason="authentication failed") from exc
        username, password = _prompt(url, username)


# -- running ---------------------------------------------------------------------------------

async def _open_remotes(args: argparse.Namespace) -> Store:
    from webstore._open import open as open_store

    return await open_store(REMOTES_NAMESPACE + args.name, backend="sqlite", path=args.store)


def _config(body: Callable[[Store, argparse.Namespace], Awaitable[int]]) -> Handler:
    """A handler for ``body(remotes, args)``; errors propagate to ``webstore.cli.main``."""

    def handler(args: argparse.Namespace) -> int:
        async def main() -> int:
            store = await _open_remotes(args)
            try:
                return await body(store, args)
            finally:
                await store.close()

        return services().run_sync(main())  # HTTP suspends: a real event loop

    return handler


def _sync(body: Callable[[Store, Repo, argparse.Namespace], Awaitable[int]]) -> Handler:
    """A handler for ``body(remotes, repo, args)``, both on the ``--store``/``--name`` file."""

    async def with_repo(store: Store, args: argparse.Namespace) -> int:
        repo = await Repo.open(store, name=args.name)
        try:
            return await body(store, repo, args)
        except RefMoved as exc:  # the server's branch (or a local one) moved on: diverged
            print(f"webstore: {exc}", file=sys.stderr)
            return EXIT_DIVERGED
        finally:
            await repo.close()

    return _config(with_repo)


def _print_refs(refs: dict[str, ObjectId]) -> None:
    for ref, oid in sorted(refs.items()):
        print(f"{to_hex(oid)} {ref}")


# -- commands --------------------------------------------------------------------------------

async def _remote(store: Store, args: argparse.Namespace) -> int:
    if args.action is None:
        for name, url in sorted((await _remotes(store)).items()):
            print(f"{name} {url}")
        return 0
    if args.action == "add":
        name, url = _check_name(args.remote), _check_url(args.url)
        if await store.has(name):
            raise InvalidArgument(f"remote {name!r} already exists ({await _url_of(store, name)})"
                                  "; remove it first", argument="NAME")
        await store.set(name, {"url": url})
        return 0
    name = _check_name(args.remote)
    if not await store.has(name):
        raise KeyNotFound(name, where="remotes")
    await store.delete(name)
    return 0


async def _push(store: Store, repo: Repo, args: argparse.Namespace) -> int:
    url = await _url_of(store, args.remote)
    head = await _talk(url, lambda remote: push(repo, remote, args.branch))
    print(f"{to_hex(head)} {args.branch} -> {url}")
    return 0


async def _pull(store: Store, repo: Repo, args: argparse.Namespace) -> int:
    url = await _url_of(store, args.remote)
    result = await _talk(url, lambda remote: pull(repo, remote, args.branch))
    if not result.ok:
        for c in result.conflicts:
            print(f"CONFLICT {c.path}")
        print(f"webstore: pulling {args.branch} from {url} conflicts at {len(result.conflicts)} "
              "path(s); nothing was committed. Set each path (webstore commit PATH JSON) and "
              "pull again.", file=sys.stderr)
        return EXIT_DIVERGED
    kind = "fast-forward" if result.fast_forward else "merged" if result.changed else \
        "already up to date"
    print(f"{kind}: {to_hex(result.commit) if result.commit else '-'}")
    return 0


async def _fetch(store: Store, repo: Repo, args: argparse.Namespace) -> int:
    url = await _url_of(store, args.remote)
    _print_refs(await _talk(url, lambda remote: fetch(repo, remote)))
    return 0


async def _clone(store: Store, repo: Repo, args: argparse.Namespace) -> int:
    url = _check_url(args.url)
    if await repo.refs.list():
        raise InvalidArgument(f"repo {args.name!r} already has branches or tags; clone needs an "
                              "empty one (choose another --name or --store)", argument="--name")
    refs = await _talk(url, lambda remote: clone(remote, repo))
    await store.set("origin", {"url": url})
    _print_refs(refs)
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Register remote / push / pull / fetch / clone on an argparse subparsers."""
    where = (f"Remotes are kept in the same SQLite file, in the reserved key-value namespace "
             f"'{REMOTES_NAMESPACE}<--name>'; only URLs, never credentials.")
    creds = (f"Credentials: ${ENV_USERNAME} and ${ENV_PASSWORD}, or a prompt when the server "
             "refuses and stdin is a terminal. Exit codes: 0 ok, 1 not found, 2 bad input, "
             "3 storage or network error (authentication included)")
    p = subparsers.add_parser(
        "remote", help="list remotes, or add NAME URL / remove NAME",
        description=f"List remotes (NAME URL), add one or remove one. {where} A URL with "
                    "user:pass@ is refused.")
    p.set_defaults(handler=_config(_remote), action=None)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    a = actions.add_parser("add", help="add a remote")
    a.add_argument("remote", metavar="NAME")
    a.add_argument("url", metavar="URL")
    actions.add_parser("remove", help="remove a remote").add_argument("remote", metavar="NAME")
    remote, branch, url = ("remote", "REMOTE", "origin"), ("branch", "BRANCH", "main"), \
        ("url", "URL", None)
    for name, body, positionals, help_text, description in (
            ("push", _push, (remote, branch),
             "make the server's BRANCH the local one (fast-forward only)",
             f"Send the local BRANCH to REMOTE (a name or a URL). {creds}, 4 the server's "
             "branch has commits this one lacks (pull first)."),
            ("pull", _pull, (remote, branch),
             "fetch, then fast-forward or merge the server's BRANCH into the local one",
             f"Fetch from REMOTE (a name or a URL) and merge its BRANCH. {creds}, 4 conflicts "
             "(each path printed as 'CONFLICT PATH'; nothing committed)."),
            ("fetch", _fetch, (remote,),
             "copy the server's objects; print its refs (moves no local branch)",
             "Store the objects of every branch and tag of REMOTE; print 'ID REF' for each "
             f"(use the ids with show, diff, merge). {creds}."),
            ("clone", _clone, (url,),
             "copy a server's branches and tags into an empty repo; adds 'origin'",
             "Copy every branch and tag of URL into the --store/--name repo, which must have "
             f"none, and add URL as the remote 'origin'. {where} {creds}.")):
        p = subparsers.add_parser(name, help=help_text, description=description)
        for dest, metavar, default in positionals:
            if default is None:
                p.add_argument(dest, metavar=metavar)
            else:
                p.add_argument(dest, metavar=metavar, nargs="?", default=default)
        p.set_defaults(handler=_sync(body))
