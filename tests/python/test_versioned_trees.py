"""Trees read from storage parse lazily; their delta and their bytes match eager trees.

The delta parses only the entries between the bytes two versions share at either end; these
tests hold it to a comparison of every entry, with ids full of NUL and space bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webstore.errors import IntegrityError
from webstore.versioned import objects
from webstore.versioned.ids import SHA1, SHA256, ObjectFormat
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


# -- delta parses only where two trees differ: it must match a full comparison ---------------

# Ids that look like entries, or like the bytes around them, to a parser that guesses where
# an entry starts: NUL and space bytes, modes, whole serialised entries.
_TRAPS = [b"\x00", b" ", b"100644 ", b"40000 ", b"100644 a\x00", b"\x0040000 a", b"a\x00"]


def _ids(n: int) -> st.SearchStrategy[bytes]:
    trap = st.lists(st.sampled_from(_TRAPS), min_size=1, max_size=8).map(
        lambda parts: (b"".join(parts) * n)[:n].ljust(n, b"\x00"))
    return st.one_of(st.binary(min_size=n, max_size=n), trap,
                     st.sampled_from([b"\x00" * n, b" " * n, b"\xff" * n]))


# Names that are prefixes of each other and sort around "/" (a subtree sorts as "name/"), and
# names that hold what looks like the start of an entry.
_NAMES = st.one_of(
    st.text(alphabet="ab-.0/é \x01", min_size=1, max_size=3).filter(lambda s: "/" not in s),
    st.sampled_from(["100644 a", "a 40000 b", "b 100644 ", " "]))


@st.composite
def _tree_pairs(draw: st.DrawFn) -> tuple[int, dict[str, TreeEntry], dict[str, TreeEntry]]:
    n = draw(st.sampled_from([SHA1.id_length, SHA256.id_length]))
    ids = _ids(n)
    entry = st.builds(TreeEntry, st.booleans(), ids)
    old = draw(st.dictionaries(_NAMES, entry, max_size=60))
    new = dict(old)
    for name in draw(st.lists(st.sampled_from(sorted(old)), max_size=8)) if old else []:
        edit = draw(st.sampled_from(["remove", "update", "retype", "same id"]))
        if name not in new:
            continue
        if edit == "remove":
            del new[name]
        elif edit == "update":
            new[name] = TreeEntry(new[name].is_tree, draw(ids))
        elif edit == "retype":
            new[name] = TreeEntry(not new[name].is_tree, new[name].id)
    new.update(draw(st.dictionaries(_NAMES, entry, max_size=4)))
    return n, old, new


def _expected(old: dict[str, TreeEntry], new: dict[str, TreeEntry]
              ) -> tuple[dict[str, TreeEntry], dict[str, TreeEntry]]:
    names = {name for name, _ in old.items() ^ new.items()}
    return ({k: old[k] for k in names if k in old}, {k: new[k] for k in names if k in new})


def _read(entries: dict[str, TreeEntry], n: int) -> Tree:
    fmt = SHA1 if n == SHA1.id_length else SHA256
    tree = parse_object(Tree(entries).raw(), fmt=fmt)
    assert isinstance(tree, Tree)
    return tree


# The shared-bytes search is exact to ``_STEP`` bytes and skipped below ``_SMALL``: the
# shipped values, and exact searches on every size, which reach other boundaries.
_TUNINGS = [(objects._STEP, objects._SMALL), (1, 0), (7, 0)]


@settings(max_examples=400, deadline=None)
@given(_tree_pairs())
def test_delta_of_read_trees_matches_comparing_every_entry(
        pair: tuple[int, dict[str, TreeEntry], dict[str, TreeEntry]]) -> None:
    n, old, new = pair
    expected = _expected(old, new)
    for step, small in _TUNINGS:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(objects, "_STEP", step)
            patch.setattr(objects, "_SMALL", small)
            assert _read(old, n).delta(_read(new, n)) == expected
            assert _read(new, n).delta(_read(old, n)) == expected[::-1]
            # A tree built in memory against one read from storage: the built body is checked.
            assert Tree(dict(old)).delta(_read(new, n)) == expected
    assert _read(old, n).entries == old and Tree(dict(old)).raw() == _read(old, n).raw()


@pytest.mark.parametrize("tuning", _TUNINGS)
@pytest.mark.parametrize("n", [SHA1.id_length, SHA256.id_length])
def test_delta_when_shared_bytes_end_inside_an_id(
        n: int, tuning: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objects, "_STEP", tuning[0])
    monkeypatch.setattr(objects, "_SMALL", tuning[1])
    # Every id ends in the same bytes, which are also what the next entry starts with, so the
    # bytes two versions share from the end start in the middle of an id, before a boundary.
    tail = b"\x00100644 k\x00"[:n - 1]

    def ident(i: int) -> bytes:
        return bytes([i]) * (n - len(tail)) + tail

    base = {f"k{i:03d}": TreeEntry(i % 5 == 0, ident(i)) for i in range(80)}
    for edit in ("add", "remove", "update", "prefix name"):
        new = dict(base)
        if edit == "add":
            new["k0405"] = TreeEntry(False, ident(7))
        elif edit == "remove":
            del new["k040"]
        elif edit == "update":
            new["k040"] = TreeEntry(False, ident(200))
        else:  # a name that is a prefix of its neighbours', as a value and as a subtree
            new["k04"] = TreeEntry(True, ident(9))
        assert _read(base, n).delta(_read(new, n)) == _expected(base, new), edit
        assert _read(new, n).delta(_read(base, n)) == _expected(new, base), edit


@pytest.mark.parametrize("tuning", _TUNINGS)
@pytest.mark.parametrize("n", [SHA1.id_length, SHA256.id_length])
def test_delta_when_the_shared_end_parses_differently_on_each_side(
        n: int, tuning: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    # The last entry of one tree is, byte for byte, the end of the other tree's last two: a
    # name holding the end of an id and a whole entry's start. The shared end bytes start
    # inside an entry on one side and at an earlier entry on the other, so their boundaries
    # differ until the parser steps both sides to the same distance from the end.
    filler = {f"a{i:03d}": TreeEntry(i % 2 == 0, oid(i)[:n]) for i in range(40)}
    filler |= {f"z{i:03d}": TreeEntry(False, oid(i)[:n]) for i in range(30)}
    monkeypatch.setattr(objects, "_STEP", tuning[0])
    monkeypatch.setattr(objects, "_SMALL", tuning[1])
    ident, last = b"P" + b"z" * (n - 1), oid(99)[:n]
    one = {**filler, "w" + ident[1:].decode() + "100644 y": TreeEntry(False, last)}
    other = {**filler, "p": TreeEntry(False, ident), "y": TreeEntry(False, last)}
    assert (ident[1:] + b"100644 y\x00" + last) in Tree(one).body()
    assert (ident + b"100644 y\x00" + last) in Tree(other).body()
    assert _read(one, n).delta(_read(other, n)) == _expected(one, other)
    assert _read(other, n).delta(_read(one, n)) == _expected(other, one)


def test_delta_of_identical_and_of_wholly_different_trees() -> None:
    a = {f"name{i:03d}": TreeEntry(False, oid(i)) for i in range(100)}
    b = {f"name{i:03d}": TreeEntry(True, oid(i + 1000)) for i in range(100)}
    assert _read(a, 32).delta(_read(dict(a), 32)) == ({}, {})
    assert _read(a, 32).delta(_read(b, 32)) == (a, b)
    assert _read(a, 32).delta(_read({}, 32)) == (a, {})
    assert _read({}, 32).delta(_read(b, 32)) == ({}, b)


# -- the read-time check accepts exactly the trees it accepted when it split every entry ------

def _reference_check(body: bytes, n: int) -> None:
    """The check ``_parse_tree`` made before it stopped building a chunk per entry."""
    chunk = re.compile(rb"((?:100644|40000) ([^\x00]+)\x00.{%d})" % n, re.DOTALL)
    found = chunk.findall(body)
    chunks, names = zip(*found, strict=True) if found else ((), ())
    if sum(map(len, chunks)) != len(body):
        raise ValueError("malformed or unsupported tree entry")
    b"/".join(names).decode()


def _outcome(check: Callable[[], object]) -> str:
    try:
        check()
    except IntegrityError as exc:  # parse_object names the object and the reason
        return str(exc).split(": ", 1)[1]
    except (ValueError, UnicodeDecodeError) as exc:
        return str(exc)
    return "ok"


def _same_verdict(body: bytes, fmt: ObjectFormat) -> None:
    raw = b"tree %d\x00%s" % (len(body), body)
    got = _outcome(lambda: parse_object(raw, None, fmt))
    assert got == _outcome(lambda: _reference_check(body, fmt.id_length)), body


_PIECES = st.one_of(
    st.sampled_from([b"100644 ", b"40000 ", b"100755 ", b"\x00", b" ", b"a", b"\xc3\xa9",
                     b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xff"]),
    st.binary(max_size=40))


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=12), st.sampled_from([SHA1, SHA256]))
def test_read_time_check_matches_the_reference(pieces: list[bytes], fmt: ObjectFormat
                                              ) -> None:
    _same_verdict(b"".join(pieces), fmt)


def test_names_are_checked_as_strict_utf8() -> None:
    # Every name of up to 3 bytes (and 4-byte ones around the edges of UTF-8) from bytes that
    # bound UTF-8's ranges: overlong forms, surrogates, past U+10FFFF, stray continuations.
    edges = [0x01, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
             0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
    names = [bytes(p) for size in (1, 2, 3) for p in itertools.product(edges, repeat=size)]
    lead = [0xF0, 0xF1, 0xF4, 0xF5, 0xED, 0xE0]
    cont = [0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0]
    names += [bytes(p) for p in itertools.product(lead, cont, cont, cont)]
    ident = b"\x00 " * 16
    for name in names:
        _same_verdict(b"100644 a\x00%s40000 %s\x00%s" % (ident, name, ident), SHA256)
