"""``export_git``: write the repo as a real Git repository, SHA-256 or SHA-1 (CPython only).

The object bytes are already Git's, so export is "zlib-compress each object to
``.git/objects/xx/yyyy``" plus refs, ``HEAD`` and the config ``git init`` writes for the repo's
object format: SHA-256 is ``repositoryformatversion = 1`` with ``objectformat = sha256``; SHA-1
is version 0 with no extensions (Git refuses ``extensions.objectformat`` in a version 0
repository). ``git fsck --strict``, ``git log`` and ``git cat-file`` then work.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from webstore.versioned.ids import SHA1, to_hex
from webstore.versioned.repo import Repo

__all__ = ["export_git"]

_CONFIG = """[core]
\trepositoryformatversion = {version}
\tfilemode = true
\tbare = false
"""
_EXTENSIONS = """[extensions]
\tobjectformat = {format}
"""


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


async def export_git(repo: Repo, directory: str | os.PathLike[str], *,
                     head: str | None = None) -> int:
    """Write every object reachable from a ref, and the refs, into ``directory/.git``.

    Returns the number of objects written. ``HEAD`` points at ``head`` (default ``main``
    when it exists, else the first branch). Existing objects are kept (they are immutable).
    """
    fmt = await repo.resolve_format()
    git = Path(directory) / ".git"
    for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "info"):
        (git / sub).mkdir(parents=True, exist_ok=True)
    refs = await repo.refs.list()
    count = 0
    for oid in await repo.objects.reachable(list(refs.values())):
        hexid = to_hex(oid)
        target = git / "objects" / hexid[:2] / hexid[2:]
        if not target.exists():
            raw = await repo.objects.get_raw(oid)
            assert raw is not None
            _write(target, zlib.compress(raw))
            count += 1
    for ref, oid in refs.items():
        _write(git / "refs" / ref, to_hex(oid).encode() + b"\n")
    branches = await repo.branches()
    chosen = head or ("main" if "main" in branches or not branches else branches[0])
    _write(git / "HEAD", f"ref: refs/heads/{chosen}\n".encode())
    config = _CONFIG.format(version=0) if fmt == SHA1 else \
        _CONFIG.format(version=1) + _EXTENSIONS.format(format=fmt.name)
    _write(git / "config", config.encode())
    _write(git / "description", b"exported by webstore\n")
    return count
