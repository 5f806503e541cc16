"""Raw bypass hooks for tests that damage storage on purpose (zarr's ``testing`` does the same).

Reliability and untrusted-peer tests write bytes under a repo's keys the way a failing disk
or a hostile peer would. Application code never needs these: ObjectStore and RefStore hide
their storage on purpose.
"""

from __future__ import annotations

from webstore.backends import Backend
from webstore.versioned.ids import ObjectId
from webstore.versioned.repo import Repo

__all__ = ["object_key", "object_prefix", "raw_backend", "ref_key"]


def raw_backend(repo: Repo) -> Backend:
    """The backend under ``repo``'s object store."""
    return repo.objects._backend


def object_prefix(repo: Repo) -> str:
    """Backend key prefix of ``repo``'s objects."""
    return repo.objects._prefix


def object_key(repo: Repo, oid: ObjectId) -> str:
    """Backend key of one object of ``repo``."""
    return repo.objects._key(oid)


def ref_key(repo: Repo, ref: str) -> str:
    """Backend key of one ref of ``repo``."""
    return repo.refs._prefix + ref
