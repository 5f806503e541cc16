"""Trees read from storage parse lazily; their delta and their bytes match eager trees."""

from __future__ import annotations

import hashlib

import pytest

from webstore.errors import IntegrityError
from webstore.versioned.objects import Tree, TreeEntry, parse_object


def oid(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


def make(entries: dict[str, TreeEntry]) -> tuple[Tree, Tree]:
    """The same tree built in memory and parsed back from its bytes."""
    built = Tree(entries)
    parsed = parse_object(built.raw())
    assert isinstance(parsed, Tree)
    return built, parsed


def test_parsed_tree_roundtrips() -> None:
    entries = {"a": TreeEntry(True, oid(1)), "a-b": TreeEntry(False, oid(2)),
               "é": TreeEntry(False, oid(3)), "z": TreeEntry(False, oid(4))}
    built, parsed = make(entries)
    assert parsed.raw() == built.raw() and parsed.id == built.id
    assert parsed.entries == entries and parsed == built


@pytest.mark.parametrize("materialize", [False, True])
def test_delta_lists_only_changed_names(materialize: bool) -> None:
    base = {f"k{i:03d}": TreeEntry(i % 3 == 0, oid(i)) for i in range(200)}
    new = dict(base)
    new["k005"] = TreeEntry(False, oid(1005))  # updated
    del new["k007"]  # removed
    new["k999"] = TreeEntry(True, oid(999))  # added
    new["k009"] = TreeEntry(False, base["k009"].id)  # a subtree replaced by a value
    _, a = make(base)
    _, b = make(new)
    if materialize:
        assert a.entries and b.entries
    only_a, only_b = a.delta(b)
    assert only_a == {n: base[n] for n in ("k005", "k007", "k009")}
    assert only_b == {n: new[n] for n in ("k005", "k009", "k999")}


@pytest.mark.parametrize("body", [
    b"100644 a\x00" + b"x" * 31,  # short id
    b"100644 a\x00" + b"x" * 32 + b"junk",  # trailing bytes
    b"100755 a\x00" + b"x" * 32,  # unsupported mode
    b"100644 \xff\xfe\x00" + b"x" * 32,  # name not UTF-8
])
def test_malformed_trees_are_integrity_errors(body: bytes) -> None:
    raw = b"tree %d\x00%s" % (len(body), body)
    with pytest.raises(IntegrityError, match="malformed"):
        parse_object(raw, hashlib.sha256(raw).digest())
