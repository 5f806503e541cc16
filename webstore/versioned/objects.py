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

    A tree read from storage keeps its (checked) serialised body and builds the ``entries``
    dict only when asked. :meth:`delta` skips the bytes two versions share at either end and
    parses only the entries between, so a diff's cost follows the changes, not tree width.
    """

    type_name: ClassVar[bytes] = b"tree"
    __slots__ = ("_body", "_entries", "_id_length")

    def __init__(self, entries: dict[str, TreeEntry] | None = None) -> None:
        self._entries: dict[str, TreeEntry] | None = {} if entries is None else entries
        self._body: bytes | None = None
        self._id_length = 0  # known from the entries' ids (0 while there are none)

    @classmethod
    def _parsed(cls, body: bytes, id_length: int) -> Tree:
        tree = cls.__new__(cls)
        tree._entries = None
        tree._body = body
        tree._id_length = id_length
        return tree

    @property
    def entries(self) -> dict[str, TreeEntry]:
        """Name -> entry (built on first use for a tree read from storage)."""
        if self._entries is None:
            assert self._body is not None
            self._entries = _entries_of(self._body, self._id_length)
        return self._entries

    def chunks(self) -> list[bytes]:
        """Serialised entries (``mode SP name NUL id``) in Git's order."""
        if self._body is not None and self._id_length:
            return [c for c, _ in _CHUNK[self._id_length].findall(self._body)]
        return [
            b"%s %s\x00%s" % (MODE_TREE if e.is_tree else MODE_BLOB, n.encode(), e.id)
            for n, e in sorted(self.entries.items(), key=_sort_key)
        ]

    def delta(self, other: Tree) -> tuple[dict[str, TreeEntry], dict[str, TreeEntry]]:
        """Entries only in ``self`` and only in ``other`` (a changed name is in both)."""
        if self._entries is not None and other._entries is not None:
            mine, theirs = self._entries, other._entries
            names = {n for n, _ in mine.items() ^ theirs.items()}
            return ({n: mine[n] for n in names if n in mine},
                    {n: theirs[n] for n in names if n in theirs})
        n = self._id_length or other._id_length  # at least one was parsed, so knows it
        a, b = self.body(), other.body()
        if ((self._id_length == n or _runs(a, n)) and (other._id_length == n or _runs(b, n))):
            # parsed trees were checked when read; a built one is checked here
            middle_a, middle_b = _middles(a, b, n)
            sa, sb = set(middle_a), set(middle_b)
        else:  # not two well-formed bodies with ``n``-byte ids: compare every entry
            sa, sb = set(self.chunks()), set(other.chunks())
        return _entries_of(b"".join(sa - sb), n), _entries_of(b"".join(sb - sa), n)

    def body(self) -> bytes:  # noqa: D102
        # docstring inherited
        if self._body is None:
            self._body = b"".join(self.chunks())
        return self._body

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
# Whole runs of entries, matched without building anything: any names (the parse a prefix
# scan needs), ASCII names (the common well-formed body), UTF-8 names (RFC 3629: what
# bytes.decode accepts, so no surrogates, overlong forms or code points past U+10FFFF).
_UTF8 = (rb"(?:[\x01-\x7f]++|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]"
         rb"|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
         rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2})++")
_RUN, _ASCII_BODY, _UTF8_BODY = (
    {n: re.compile(rb"(?:(?:100644|40000) %s\x00.{%d})*+" % (name, n), re.DOTALL)
     for n in _LENGTHS}
    for name in (rb"[^\x00]++", rb"[\x01-\x7f]++", _UTF8))
_WHOLE = {n: re.compile(rb"(?:100644|40000) [^\x00]++\x00.{%d}" % n, re.DOTALL)
          for n in _LENGTHS}
_new_entry = functools.partial(tuple.__new__, TreeEntry)
_STEP = 64  # granularity of the shared-bytes search; a lower bound is all delta needs
_SMALL = 1024  # bodies this short are split whole


def _entries_of(body: bytes, id_length: int) -> dict[str, TreeEntry]:
    # One C scan; TreeEntry built by tuple.__new__ (a comprehension beats map/zip chains here).
    return {name.decode(): _new_entry((mode == MODE_TREE, oid))
            for mode, name, oid in _ENTRY[id_length].findall(body)}


def _runs(body: bytes, n: int) -> bool:
    """Whether ``body`` is a run of well-formed entries with ``n``-byte ids."""
    return n in _RUN and _RUN[n].fullmatch(body) is not None


def _shared(a: bytes, b: bytes, limit: int, from_end: bool = False) -> int:
    """How many leading (or trailing) bytes ``a`` and ``b`` share, at most ``limit``.

    A lower bound within ``_STEP`` bytes, found by a binary search of memcmp-speed tests:
    ``a.startswith(view of b, at)`` copies nothing (comparing two views goes item by item).
    """
    view, na, nb = memoryview(b), len(a), len(b)
    lo, hi = 0, limit + 1  # the first lo bytes are shared; the first hi are not (or too many)
    while hi - lo > _STEP:
        mid = (lo + hi) // 2  # at most limit
        if (a.startswith(view[nb - mid:nb - lo], na - mid) if from_end
                else a.startswith(view[lo:mid], lo)):
            lo = mid
        else:
            hi = mid
    return lo


def _middles(a: bytes, b: bytes, n: int) -> tuple[list[bytes], list[bytes]]:
    """Serialised entries of ``a`` and of ``b`` outside their shared leading and trailing runs.

    Both must be runs of well-formed entries with ``n``-byte ids. The bytes before the first
    difference, cut back to an entry boundary, parse to the same entries on both sides; so do
    the bytes after the last one, once both sides are parsed forward to boundaries the same
    distance from their ends. A tree names each entry once, so no entry of one middle sits in
    the shared runs: the set difference of the middles is the delta.
    """
    run, whole = _RUN[n], _WHOLE[n]
    limit = min(len(a), len(b))
    if limit <= _SMALL:  # searching would cost more than splitting everything
        return whole.findall(a), whole.findall(b)
    start = run.match(a, 0, _shared(a, b, limit)).end()  # type: ignore[union-attr]
    # Step to the first entry that differs; when the rest after it (one changed, removed or
    # added entry) is equal on both sides, that entry is the whole delta.
    while True:
        ma, mb = whole.match(a, start), whole.match(b, start)
        if ma is None or mb is None or ma.group() != mb.group():
            break
        start = ma.end()
    view = memoryview(b)
    ea, eb = (start if m is None else m.end() for m in (ma, mb))
    for xa, xb in ((ea, eb), (ea, start), (start, eb)):
        if len(a) - xa == len(b) - xb and a.endswith(view[xb:]):
            return ([ma.group()] if ma and xa > start else [],
                    [mb.group()] if mb and xb > start else [])
    tail = _shared(a, b, limit - start, from_end=True)
    middles: tuple[list[bytes], list[bytes]] = ([], [])
    at = [start, start]
    for side, body in enumerate((a, b)):  # every entry that starts before the shared tail
        stop = len(body) - tail
        if start < stop:
            end = run.match(body, start, stop).end()  # type: ignore[union-attr]
            if end < stop:  # the entry that straddles ``stop``
                end = whole.match(body, end).end()  # type: ignore[union-attr]
            middles[side].extend(whole.findall(body, start, end))
            at[side] = end
    while len(a) - at[0] != len(b) - at[1]:  # align: the same distance from both ends
        side = 0 if len(a) - at[0] > len(b) - at[1] else 1
        m = whole.match((a, b)[side], at[side])
        assert m is not None
        middles[side].append(m.group())
        at[side] = m.end()
    return middles


def _parse_tree(body: bytes, fmt: ObjectFormat) -> Tree:
    # One C-level scan building nothing; every byte must belong to an entry and names must be
    # UTF-8. A body that fails is parsed again only to say why.
    n = fmt.id_length
    if _ASCII_BODY[n].fullmatch(body) is None and _UTF8_BODY[n].fullmatch(body) is None:
        found = _CHUNK[n].findall(body)
        if sum(len(c) for c, _ in found) == len(body):
            b"/".join(name for _, name in found).decode()  # UnicodeDecodeError names the byte
        raise ValueError("malformed or unsupported tree entry")
    return Tree._parsed(body, n)


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
