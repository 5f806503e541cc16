"""Blob, Tree and Commit in Git's object format, named by SHA-256 or SHA-1.

Serialisation is byte-for-byte what Git writes (``git init --object-format=sha256``, or the
SHA-1 default), so an exported repository passes ``git fsck --strict`` and Git computes the
same object names. Each object knows its ``type_name`` and serialises itself (dulwich's
shape); its name depends on the repo's :class:`~webstore.versioned.ids.ObjectFormat`
(:meth:`GitObject.id_in`). Trees and commits embed the ids of what they refer to, so they are
parsed in one format: ``parse_object(raw, oid, fmt)``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from webstore.errors import IntegrityError, InvalidArgument
from webstore.versioned.ids import FORMATS, SHA256, ObjectFormat, ObjectId, to_hex

__all__ = [
    "MODE_BLOB",
    "MODE_TREE",
    "Blob",
    "Commit",
    "GitObject",
    "Signature",
    "Tree",
    "TreeEntry",
    "parse_object",
]

MODE_BLOB = b"100644"
MODE_TREE = b"40000"


class GitObject:
    """Common surface: ``type_name``, ``body()``, ``raw()`` (header + body) and ``id``."""

    type_name: ClassVar[bytes] = b""

    def body(self) -> bytes:
        """The object's content without the Git header."""
        raise NotImplementedError

    def raw(self) -> bytes:
        r"""``"<type> <len>\\0"`` followed by the body: the bytes that are hashed and stored."""
        body = self.body()
        return b"%s %d\x00%s" % (self.type_name, len(body), body)

    def id_in(self, fmt: ObjectFormat) -> ObjectId:
        """The object's name in a repo of format ``fmt`` (the hash of :meth:`raw`)."""
        return fmt.hash_object(self.raw())

    @property
    def id(self) -> ObjectId:
        """SHA-256 name (``id_in(SHA256)``); code that serves a repo uses :meth:`id_in`."""
        return SHA256.hash_object(self.raw())


@dataclass(frozen=True, eq=True)
class Blob(GitObject):
    """A value's bytes (the KV codec frame of the value stored at a path)."""

    type_name: ClassVar[bytes] = b"blob"
    data: bytes

    def body(self) -> bytes:  # noqa: D102
        # docstring inherited
        return self.data


class TreeEntry(NamedTuple):
    """One child of a tree: a value (blob) or a subtree (a tuple: hashed and compared in C)."""

    is_tree: bool
    id: ObjectId


def _sort_key(item: tuple[str, TreeEntry]) -> bytes:
    # Git sorts tree names bytewise, a subtree as if its name ended with "/".
    name, entry = item
    return name.encode() + (b"/" if entry.is_tree else b"")


class Tree(GitObject):
    """A directory: name -> :class:`TreeEntry`. Serialised in Git's sort order.

    A tree read from storage keeps its serialised entries ("chunks") and builds the
    ``entries`` dict only when asked: a diff compares chunks, so its cost follows the number
    of changed entries, not the width of the tree.
    """

    type_name: ClassVar[bytes] = b"tree"
    __slots__ = ("_chunks", "_entries", "_id_length")

    def __init__(self, entries: dict[str, TreeEntry] | None = None) -> None:
        self._entries: dict[str, TreeEntry] | None = {} if entries is None else entries
        self._chunks: list[bytes] | None = None
        self._id_length = 0  # known from the entries' ids (0 while there are none)

    @classmethod
    def _parsed(cls, chunks: list[bytes], id_length: int) -> Tree:
        tree = cls.__new__(cls)
        tree._entries = None
        tree._chunks = chunks
        tree._id_length = id_length
        return tree

    @property
    def entries(self) -> dict[str, TreeEntry]:
        """Name -> entry (built on first use for a tree read from storage)."""
        if self._entries is None:
            assert self._chunks is not None
            self._entries = _entries_of(b"".join(self._chunks), self._id_length)
        return self._entries

    def chunks(self) -> list[bytes]:
        """Serialised entries (``mode SP name NUL id``) in Git's order."""
        if self._chunks is None:
            self._chunks = [
                b"%s %s\x00%s" % (MODE_TREE if e.is_tree else MODE_BLOB, n.encode(), e.id)
                for n, e in sorted(self.entries.items(), key=_sort_key)
            ]
        return self._chunks

    def delta(self, other: Tree) -> tuple[dict[str, TreeEntry], dict[str, TreeEntry]]:
        """Entries only in ``self`` and only in ``other`` (a changed name is in both)."""
        if self._entries is not None and other._entries is not None:
            mine, theirs = self._entries, other._entries
            names = {n for n, _ in mine.items() ^ theirs.items()}
            return ({n: mine[n] for n in names if n in mine},
                    {n: theirs[n] for n in names if n in theirs})
        a, b = set(self.chunks()), set(other.chunks())
        n = self._id_length or other._id_length  # at least one was parsed, so knows it
        return _entries_of(b"".join(a - b), n), _entries_of(b"".join(b - a), n)

    def body(self) -> bytes:  # noqa: D102
        # docstring inherited
        return b"".join(self.chunks())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tree) and self.entries == other.entries

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Tree({self.entries!r})"


_SIG = re.compile(rb"^(.*) <([^<>\n]*)> (\d+) ([+-])(\d{2})(\d{2})$")


@dataclass(frozen=True)
class Signature:
    """``Name <email> <unix-time> <+hhmm>`` as in a commit's author/committer line."""

    name: str
    email: str
    time: int
    tz_minutes: int = 0

    def __post_init__(self) -> None:
        for arg in ("name", "email"):
            text = getattr(self, arg)
            if not isinstance(text, str) or any(c in text for c in "<>\n\0"):
                raise InvalidArgument(
                    f"author {arg} must be a str without '<', '>', newline or NUL: {text!r}",
                    argument="author",
                )
        if not self.name.strip():
            raise InvalidArgument("author name must not be blank", argument="author")

    def encode(self) -> bytes:
        """The signature line's value."""
        sign = "-" if self.tz_minutes < 0 else "+"
        hh, mm = divmod(abs(self.tz_minutes), 60)
        return f"{self.name} <{self.email}> {self.time} {sign}{hh:02d}{mm:02d}".encode()

    @classmethod
    def decode(cls, line: bytes) -> Signature:
        """Parse a signature line's value; raise ``ValueError`` when malformed."""
        m = _SIG.match(line)
        if m is None:
            raise ValueError(f"malformed signature {line!r}")
        minutes = int(m.group(5)) * 60 + int(m.group(6))
        return cls(m.group(1).decode(), m.group(2).decode(), int(m.group(3)),
                   -minutes if m.group(4) == b"-" else minutes)


@dataclass(frozen=True)
class Commit(GitObject):
    """A snapshot: root tree, parents (0, 1 or 2+), author, committer, message."""

    type_name: ClassVar[bytes] = b"commit"
    tree: ObjectId
    parents: tuple[ObjectId, ...]
    author: Signature
    committer: Signature
    message: str
    extra: tuple[tuple[bytes, bytes], ...] = ()

    def body(self) -> bytes:  # noqa: D102
        # docstring inherited
        lines = [b"tree " + to_hex(self.tree).encode()]
        lines += [b"parent " + to_hex(p).encode() for p in self.parents]
        lines.append(b"author " + self.author.encode())
        lines.append(b"committer " + self.committer.encode())
        lines += [k + b" " + v.replace(b"\n", b"\n ") for k, v in self.extra]
        return b"\n".join(lines) + b"\n\n" + self.message.encode()


# Per id length (20: SHA-1, 32: SHA-256): one entry, and one entry as a whole ("chunk").
_LENGTHS = sorted({f.id_length for f in FORMATS.values()})
_ENTRY = {n: re.compile(rb"(100644|40000) ([^\x00]+)\x00(.{%d})" % n, re.DOTALL)
          for n in _LENGTHS}
_CHUNK = {n: re.compile(rb"((?:100644|40000) ([^\x00]+)\x00.{%d})" % n, re.DOTALL)
          for n in _LENGTHS}
_new_entry = functools.partial(tuple.__new__, TreeEntry)


def _entries_of(body: bytes, id_length: int) -> dict[str, TreeEntry]:
    # No Python-level call per entry: map over C functions, TreeEntry built by tuple.__new__.
    if not body:
        return {}
    found = _ENTRY[id_length].findall(body)
    modes, names, ids = zip(*found, strict=True) if found else ((), (), ())
    entries = map(_new_entry, zip(map(MODE_TREE.__eq__, modes), ids, strict=True))
    return dict(zip(map(bytes.decode, names), entries, strict=True))


def _parse_tree(body: bytes, fmt: ObjectFormat) -> Tree:
    # One C-level scan; every byte must belong to an entry and names must be UTF-8.
    found = _CHUNK[fmt.id_length].findall(body)
    chunks, names = zip(*found, strict=True) if found else ((), ())
    if sum(map(len, chunks)) != len(body):
        raise ValueError("malformed or unsupported tree entry")
    b"/".join(names).decode()
    return Tree._parsed(list(chunks), fmt.id_length)


def _hex_id(value: bytes, fmt: ObjectFormat) -> ObjectId:
    if len(value) != fmt.hex_length:
        raise ValueError(f"{value[:80]!r} is not a {fmt.name} object name")
    return ObjectId(bytes.fromhex(value.decode()))


def _parse_commit(body: bytes, fmt: ObjectFormat) -> Commit:
    head, sep, message = body.partition(b"\n\n")
    if not sep:
        raise ValueError("commit has no blank line before its message")
    headers: list[list[bytes]] = []
    for line in head.split(b"\n"):
        if line.startswith(b" ") and headers:
            headers[-1][1] += b"\n" + line[1:]
        else:
            key, _, value = line.partition(b" ")
            headers.append([key, value])
    tree: ObjectId | None = None
    parents: list[ObjectId] = []
    author = committer = None
    extra: list[tuple[bytes, bytes]] = []
    for key, value in headers:
        if key == b"tree":
            tree = _hex_id(value, fmt)
        elif key == b"parent":
            parents.append(_hex_id(value, fmt))
        elif key == b"author":
            author = Signature.decode(value)
        elif key == b"committer":
            committer = Signature.decode(value)
        else:
            extra.append((key, value))
    if tree is None or author is None or committer is None:
        raise ValueError("commit lacks tree, author or committer")
    return Commit(tree, tuple(parents), author, committer, message.decode(), tuple(extra))


def parse_object(raw: bytes, oid: ObjectId | None = None, fmt: ObjectFormat = SHA256
                 ) -> GitObject:
    """Parse serialised bytes of a ``fmt`` repo; a malformed object raises IntegrityError.

    The error names the object (``oid``). Ids inside trees and commits must be ``fmt``'s.
    """
    try:
        nul = raw.index(b"\x00")
        type_name, _, size = raw[:nul].partition(b" ")
        body = raw[nul + 1:]
        if int(size) != len(body):
            raise ValueError(f"header says {int(size)} bytes, body has {len(body)}")
        if type_name == b"blob":
            return Blob(body)
        if type_name == b"tree":
            return _parse_tree(body, fmt)
        if type_name == b"commit":
            return _parse_commit(body, fmt)
        raise ValueError(f"unknown object type {type_name!r}")
    except (ValueError, UnicodeDecodeError) as exc:
        name = to_hex(oid) if oid is not None else "object"
        raise IntegrityError(f"object {name} is malformed: {exc}", key=name) from None
