"""SQLite backend: the embedded default on CPython (stdlib ``sqlite3``, one file, WAL).

Keys are stored as UTF-8 ``BLOB`` so SQLite's byte order equals Unicode code-point order and
a prefix becomes a range scan. Every batch is one ``BEGIN IMMEDIATE`` transaction, so two
processes on one file serialise their writes; readers never block writers (WAL).

Calls are synchronous underneath (``sqlite3`` has no async API); the ``async def`` surface
keeps one API for every runtime without depending on an event loop or threads.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path

from webstore.backends._base import Backend, Capabilities
from webstore.errors import StorageFull, StorageUnavailable, UnsupportedValue

__all__ = ["SQLiteBackend", "default_path"]

_SCHEMA_VERSION = 1
_CHUNK = 500  # parameters per IN (...) query, well under SQLITE_MAX_VARIABLE_NUMBER
_BUSY_TIMEOUT_MS = 30_000
_first, _second = itemgetter(0), itemgetter(1)


def default_path() -> Path:
    """Where the default store lives: ``$WEBSTORE_PATH``, else a per-user data directory."""
    env = os.environ.get("WEBSTORE_PATH")
    if env:
        return Path(env).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "webstore" / "webstore.sqlite3"


def _upper_bound(prefix: bytes) -> bytes | None:
    """Smallest byte string greater than every string starting with ``prefix``."""
    # UTF-8 never contains 0xFF, so incrementing the last byte is always possible.
    return prefix[:-1] + bytes([prefix[-1] + 1]) if prefix else None


class SQLiteBackend(Backend):
    """One SQLite file holding one ``kv`` table; safe for several processes at once."""

    name = "sqlite"
    capabilities = Capabilities(
        persistent=True, atomic_batches=True, binary_safe=True,
        max_value_bytes=1_000_000_000, shared=True,
    )

    def __init__(self, location: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.path = Path(location).expanduser() if location is not None else default_path()
        try:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
            self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            self._retry_locked(self._init_schema)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(
                f"cannot open SQLite store at {self.path}: {exc}",
                backend=self.name, reason=str(exc),
            ) from exc

    def _init_schema(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._write():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise StorageUnavailable(
                    f"{self.path} was written by a newer webstore (schema {version})",
                    backend=self.name,
                )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    @staticmethod
    def _retry_locked(fn: Callable[[], None]) -> None:
        """Run ``fn``, retrying while another process holds the lock.

        Switching a new file to WAL takes an exclusive lock *without* calling SQLite's busy
        handler, so two processes creating one file at once see "database is locked".
        """
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        delay = 0.005
        while True:
            try:
                fn()
                return
            except (sqlite3.OperationalError, StorageUnavailable) as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction; rolled back whole on any error."""
        self._check_open()
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._map(exc) from exc
        try:
            yield db
        except BaseException as exc:
            if db.in_transaction:  # SQLITE_FULL and friends have rolled back already
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._map(exc) from exc
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.Error as commit_exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise self._map(commit_exc) from commit_exc

    def _map(self, exc: sqlite3.Error) -> Exception:
        if isinstance(exc, (sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            return exc  # a caller's bug (bad parameter), not a storage condition
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_TOOBIG:
            return UnsupportedValue(
                f"a value is too large for the SQLite store {self.path}: a row (key + value) "
                f"holds at most {self._row_limit()} bytes; nothing was written",
                type_name="bytes",
            )
        if code == sqlite3.SQLITE_FULL or "full" in str(exc):
            return StorageFull(f"SQLite store {self.path} is full: {exc}", backend=self.name)
        return StorageUnavailable(
            f"SQLite store {self.path} failed: {exc}", backend=self.name, reason=str(exc)
        )

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        # docstring inherited
        self._check_open()
        encoded = [k.encode() for k in keys]
        found: dict[bytes, bytes] = {}
        db = self._db
        # One read transaction so every chunk sees the same snapshot.
        db.execute("BEGIN")
        try:
            for start in range(0, len(encoded), _CHUNK):
                chunk = encoded[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(db.execute(f"SELECT key, value FROM kv WHERE key IN ({marks})", chunk))
        except sqlite3.Error as exc:
            raise self._map(exc) from exc
        finally:
            db.execute("COMMIT")
        return [found.get(k) for k in encoded]

    async def get(self, key: str) -> bytes | None:
        # docstring inherited
        self._check_open()
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key.encode(),)).fetchone()
        return None if row is None else bytes(row[0])

    def _row_limit(self) -> int:
        return int(self._db.getlimit(sqlite3.SQLITE_LIMIT_LENGTH))

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        # docstring inherited
        rows = [(k.encode(), v) for k, v in items]
        limit = self._row_limit()
        try:  # longest key + longest value within the limit clears the batch (loops in C)
            fits = not rows or max(map(len, map(_first, rows))) + max(
                map(len, map(_second, rows))) <= limit
        except TypeError:
            fits = False
        for k, v in () if fits else rows:
            # SQLite would refuse the row (SQLITE_TOOBIG); other types fail in sqlite3 itself
            if isinstance(v, (bytes, bytearray)) and len(k) + len(v) > limit:
                raise UnsupportedValue(
                    f"value for key {k.decode()!r} is {len(v)} bytes; a SQLite row (key + "
                    f"value) holds at most {limit} bytes; nothing was written",
                    type_name="bytes",
                )
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", rows)

    async def delete_many(self, keys: Sequence[str]) -> None:
        # docstring inherited
        rows = [(k.encode(),) for k in keys]
        with self._write() as db:
            db.executemany("DELETE FROM kv WHERE key = ?", rows)

    def _range(self, prefix: str) -> tuple[str, tuple[bytes, ...]]:
        try:
            low = prefix.encode()
        except UnicodeEncodeError:  # a lone surrogate: no stored (valid UTF-8) key has it
            return " WHERE 0", ()
        high = _upper_bound(low)
        if high is None:
            return "", ()
        return " WHERE key >= ? AND key < ?", (low, high)

    async def keys(self, prefix: str = "") -> list[str]:
        # docstring inherited
        self._check_open()
        where, args = self._range(prefix)
        rows = self._db.execute(f"SELECT key FROM kv{where} ORDER BY key", args)
        return [bytes(k).decode() for (k,) in rows]

    async def items(self, prefix: str = "") -> list[tuple[str, bytes]]:
        # docstring inherited
        self._check_open()
        where, args = self._range(prefix)
        rows = self._db.execute(f"SELECT key, value FROM kv{where} ORDER BY key", args)
        return [(bytes(k).decode(), bytes(v)) for k, v in rows]

    async def delete_prefix(self, prefix: str) -> None:
        # docstring inherited
        where, args = self._range(prefix)
        with self._write() as db:
            db.execute(f"DELETE FROM kv{where}", args)

    async def set_if_equals(self, key: str, expected: bytes | None, new: bytes | None) -> bool:
        # docstring inherited
        k = key.encode()
        with self._write() as db:
            row = db.execute("SELECT value FROM kv WHERE key = ?", (k,)).fetchone()
            current = None if row is None else bytes(row[0])
            if current != expected:
                return False
            if new is None:
                db.execute("DELETE FROM kv WHERE key = ?", (k,))
            else:
                db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (k, new))
            return True

    async def close(self) -> None:
        # docstring inherited
        if not self._closed:
            self._db.close()
        await super().close()
