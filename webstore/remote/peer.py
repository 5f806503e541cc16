"""``GitRemote``: a Git server repository that stands wherever sync takes a repo.

``webstore.versioned.push(repo, GitRemote(url))`` works like ``push(repo, other_repo)``:
:class:`~webstore.versioned.sync.Remote` is the small protocol the versioned layer asks of a
peer it cannot read directly, and this class answers it with :mod:`webstore.remote.sync`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webstore.remote.remote import GitEndpoint
from webstore.remote.sync import Progress, clone, fetch, pull, push_update
from webstore.versioned.merge import MergeResult
from webstore.versioned.receive import MAX_OBJECT_BYTES

if TYPE_CHECKING:
    from webstore.versioned.ids import ObjectId
    from webstore.versioned.repo import Repo

__all__ = ["GitRemote"]


class GitRemote(GitEndpoint):
    """A repository on a Git server (smart HTTP): ``GitRemote(url, username=, password=)``.

    Credentials live in this object only: never stored in a repo, never in an error, a log
    or a URL it prints (``url`` is shown without them).
    """

    async def push_from(self, repo: Repo, branch: str = "main", *, to: str | None = None,
                        progress: Progress | None = None) -> MergeResult:
        """``push(repo, self, branch)``: the server's branch fast-forwards to ours."""
        old, head = await push_update(repo, self, branch, to=to, progress=progress)
        return MergeResult(head, changed=head != old, fast_forward=head != old)

    async def pull_into(self, repo: Repo, branch: str = "main", *, source: str | None = None,
                        max_object_bytes: int = MAX_OBJECT_BYTES,
                        progress: Progress | None = None) -> MergeResult:
        """``pull(repo, self, branch)``: fetch, then fast-forward or three-way merge."""
        return await pull(repo, self, branch, source=source,
                          max_object_bytes=max_object_bytes, progress=progress)

    async def fetch_into(self, repo: Repo, *, max_object_bytes: int = MAX_OBJECT_BYTES,
                         progress: Progress | None = None) -> dict[str, ObjectId]:
        """``fetch(repo, self)``: store what the server's refs need; returns those refs."""
        return await fetch(repo, self, max_object_bytes=max_object_bytes, progress=progress)

    async def clone_into(self, repo: Repo, *, max_object_bytes: int = MAX_OBJECT_BYTES,
                         progress: Progress | None = None) -> dict[str, ObjectId]:
        """``clone(self, repo)``: every branch and tag of the server."""
        return await clone(self, repo, max_object_bytes=max_object_bytes, progress=progress)
