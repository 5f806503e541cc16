"""Sync a webstore :class:`~webstore.versioned.Repo` with a Git server over smart HTTP.

>>> remote = GitRemote("https://git.example.org/notes.git", username="me", password="...")
>>> await push(repo, remote, "main")
>>> await pull(repo, remote, "main")

Layers: :mod:`~webstore.remote.pktline` and :mod:`~webstore.remote.pack` (wire formats),
:mod:`~webstore.remote.protocol` (Git's smart protocol, sans I/O), :class:`GitRemote` (HTTP,
credentials, statuses) over a :class:`Transport` (CPython: :class:`UrllibTransport`), and
:mod:`~webstore.remote.sync` (what to send and receive, checked like any untrusted peer).
The server's repository uses the repo's object format (``sha256`` by default, ``sha1`` for
GitHub): a mismatch is refused with both formats named.
"""

from __future__ import annotations

from webstore.remote.peer import GitRemote
from webstore.remote.protocol import RemoteRef
from webstore.remote.remote import GitEndpoint
from webstore.remote.sync import clone, fetch, pull, push
from webstore.remote.transport import Transport, UrllibTransport

__all__ = ["GitEndpoint", "GitRemote", "RemoteRef", "Transport", "UrllibTransport", "clone",
           "fetch", "pull", "push"]
