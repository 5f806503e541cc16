"""Blobs people can read and edit with Git: text, JSON, and the framed form for the rest.

Real git (2.39+, SHA-256 repos) is the judge of the interop: ``git show`` prints our text,
``git diff`` shows a changed dict key as a line, and edits committed with git read back.
"""

from __future__ import annotations

import array
import asyncio
import enum
import importlib.util
import json
import math
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webstore.errors import UnsupportedValue
from webstore.kv import codec
from webstore.testing._values import every_typed_array, same, sample_values
from webstore.testing.stateful import _values as codec_values
from webstore.versioned import (
    CONFLICT,
    AddWinsSet,
    Counter,
    LastWriterWins,
    ObjectId,
    Repo,
    Updated,
    export_git,
    fsck,
    parse_id,
    to_hex,
)
from webstore.versioned.receive import receive
from webstore.versioned.trees import lookup, split_path
from webstore.versioned.values import decode_value, encode_value

if shutil.which("git") is None:  # a missing git is a failure, never a skip
    raise RuntimeError("the git binary is required by the Git interop tests")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("make_v010_repo", FIXTURES / "make_v010_repo.py")
assert _spec is not None and _spec.loader is not None
v010 = importlib.util.module_from_spec(_spec)
sys.modules["make_v010_repo"] = v010
_spec.loader.exec_module(v010)

FRAME = 0xC1


def git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True,
                          check=False)
    assert done.returncode == 0, (args, done.stderr.decode())
    return done.stdout


def git_commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "-q",
        "-m", message)


def round_trip(value: Any) -> Any:
    return decode_value(encode_value(value))


def same_value(a: Any, b: Any) -> bool:
    """:func:`same` (bit-exact floats and arrays), also inside the mergeable types."""
    if type(a) is not type(b):
        return False
    if isinstance(a, LastWriterWins):
        return same(a.value, b.value) and same(a.timestamp, b.timestamp) and a.writer == b.writer
    if isinstance(a, AddWinsSet):
        return sorted(map(repr, a)) == sorted(map(repr, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    return same(a, b)


# -- the forms ------------------------------------------------------------------------------

TEXTS = ["hello", "", "line1\nline2", "line\n", "héllo wörld \U0001f600", "\x00nul", "tab\t",
         "{not json", "[1, 2", "NaN", "Infinity", "-Infinity", "1e400", "-1e400",
         "99999999999999999999", "0x10", "True", "None", "'single'", "\ufeff123", "1.0.0"]
JSONISH = ["123", "-1", "1.0", "-0.0", "true", "false", "null", '"quoted"', '""', "[]", "{}",
           '{"a": 1}', " 7 ", "7\n", "[1, 2]", '"\\ud800"', '{"__webstore__": "counter", "v": 1}',
           '{"__webstore__": "nope"}', "1e5"]


@pytest.mark.parametrize("text", TEXTS)
def test_plain_text_is_written_as_its_utf8_bytes(text: str) -> None:
    blob = encode_value(text)
    assert blob == text.encode()
    back = decode_value(blob)
    assert type(back) is str and back == text


@pytest.mark.parametrize("text", JSONISH)
def test_text_that_parses_as_a_value_is_written_as_a_json_string(text: str) -> None:
    blob = encode_value(text)
    if blob != text.encode():  # e.g. '"\\ud800"' reads as text (not storable), so stays raw
        assert blob == json.dumps(text, ensure_ascii=False).encode() + b"\n"
    back = decode_value(blob)
    assert type(back) is str and back == text


class Level(enum.IntEnum):
    HIGH = 7


JSON_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2**63 - 1, -(2**63), 2**64 - 1, 0.5, 1.0, -0.0, 0.0, 1e-310,
    1e16, 1.7976931348623157e308, [], {}, [1, [2, [3, None]]], {"a": {"b": [1, "x", 2.5]}},
    {"ünï": "cödé", "": 0, "k": [True, None]}, ["\x00", "\n", '"']]


@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
def test_json_values_are_indented_json_and_read_back_with_their_types(value: Any) -> None:
    blob = encode_value(value)
    assert blob[0] != FRAME
    assert blob == json.dumps(value, ensure_ascii=False, indent=2).encode() + b"\n"
    assert same(decode_value(blob), value)


def test_ints_and_floats_keep_their_types() -> None:
    for value in (1, 1.0, -0.0, 0, True, 2**64 - 1, 3.0e20):
        back = round_trip(value)
        assert type(back) is type(value) and struct.pack("<d", back) == struct.pack("<d", value)
    assert round_trip([1, 1.0, True]) == [1, 1.0, True]
    assert [type(x) for x in round_trip([1, 1.0, True])] == [int, float, bool]
    back = round_trip({"z": -0.0})["z"]
    assert math.copysign(1.0, back) == -1.0


def test_subclasses_and_numpy_scalars_are_stored_as_the_codec_stores_them() -> None:
    class Name(str):
        pass

    values: list[Any] = [Level.HIGH, {"lvl": Level.HIGH}, Name("123"), {Name("k"): Name("v")}]
    try:
        import numpy as np
    except ImportError:
        pass
    else:
        values += [np.float64(1.5), np.int64(-3), np.bool_(True), [np.float32(0.25)]]
    for value in values:
        blob = encode_value(value)
        assert blob[0] != FRAME
        assert same(decode_value(blob), decode_value(codec.encode(value)))
    assert type(round_trip(Level.HIGH)) is int and round_trip(Level.HIGH) == 7
    assert type(round_trip(Name("123"))) is str


FRAMED: list[Any] = [b"", b"\x89PNG\r\n", bytearray(b"abc"), (1, "two", (3,)), float("inf"),
                     float("-inf"), array.array("d", [-0.0, 1.5]), {"a": b"x"}, [1, (2,)],
                     {"deep": {"x": [float("inf")]}}, *every_typed_array()]


@pytest.mark.parametrize("value", FRAMED, ids=lambda v: type(v).__name__)
def test_binary_values_keep_the_framed_form(value: Any) -> None:
    blob = encode_value(value)
    assert blob[0] == FRAME and blob == codec.encode(value)
    assert same(decode_value(blob), value)


def test_nan_keeps_its_bits_in_the_framed_form() -> None:
    nan = struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0]
    blob = encode_value(nan)
    assert blob[0] == FRAME and same(decode_value(blob), nan)
    assert encode_value([nan])[0] == FRAME


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, {"a": [2**70]}, "\ud800",
                                   {"k": "ok\udfff"}, object(), {1: "int key"}])
def test_the_codec_refuses_exactly_as_before(value: Any) -> None:
    with pytest.raises(UnsupportedValue) as want:
        codec.encode(value)
    with pytest.raises(UnsupportedValue) as got:
        encode_value(value)
    assert str(got.value) == str(want.value) and got.value.path == want.value.path


def test_cycles_and_deep_nesting_are_refused_as_the_codec_refuses_them() -> None:
    loop: list[Any] = []
    loop.append(loop)
    deep_list: list[Any] = []
    deep_dict: dict[str, Any] = {}
    for _ in range(codec.MAX_DEPTH):
        deep_list = [deep_list]
        deep_dict = {"d": deep_dict}
    for value in (loop, deep_list, deep_dict):
        with pytest.raises(UnsupportedValue) as want:
            codec.encode(value)
        with pytest.raises(UnsupportedValue) as got:
            encode_value(value)
        assert str(got.value) == str(want.value)
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle  # 0.1.0 hit RecursionError here
    with pytest.raises(UnsupportedValue, match="cyclic"):
        encode_value(cycle)
    assert same(round_trip(deep_list[0]), deep_list[0])  # one level less is stored, as JSON
    assert encode_value(deep_dict["d"])[0] != FRAME


@pytest.mark.parametrize("value", sample_values(), ids=repr)
def test_every_sample_value_round_trips(value: Any) -> None:
    assert same(round_trip(value), value)


# -- reading what a person wrote ------------------------------------------------------------

@pytest.mark.parametrize(("data", "want"), [
    (b"plain words\n", "plain words\n"),
    (b'{"a": 1,\n', '{"a": 1,\n'),  # a syntax error is the text it is
    (b"[NaN]", "[NaN]"),
    (b"1e400", "1e400"),
    (b"123456789012345678901234567890", "123456789012345678901234567890"),
    (b'"\\ud800"', '"\\ud800"'),
    (b"[" * 300 + b"]" * 300, "[" * 300 + "]" * 300),
    (b"[" * 5000 + b"]" * 5000, "[" * 5000 + "]" * 5000),
    (b'{"__webstore__": "counter", "v": "x"}', '{"__webstore__": "counter", "v": "x"}'),
    (b'{"__webstore__": "counter"}', '{"__webstore__": "counter"}'),
    (b'{"\\u005f_webstore__": "what"}', '{"\\u005f_webstore__": "what"}'),
    (b'{"a":1}', {"a": 1}),
    (b'{"b": 2, "a": [1.5, null]}\n', {"b": 2, "a": [1.5, None]}),
    (b'"quoted"', "quoted"),
    (b"1E5", 100000.0),
    (b'{"__webstore__":"counter","v":5}', Counter(5)),
    (b'{"__webstore__": "awset", "v": [1, "a"]}', AddWinsSet({1, "a"})),
    (b"\x89PNG\r\n\x1a\n\x00", b"\x89PNG\r\n\x1a\n\x00"),
    (b"\xff\xfe", b"\xff\xfe"),
    (b"\xed\xa0\x80", b"\xed\xa0\x80"),  # an encoded surrogate is not UTF-8
    (b"\xc1\x01 not a frame", b"\xc1\x01 not a frame"),  # the frame byte, a bad CRC
])
def test_blobs_written_by_people_read_as_a_value_text_or_bytes(data: bytes, want: Any) -> None:
    got = decode_value(data)
    assert type(got) is type(want) and got == want
    assert same(round_trip(got), got)  # and whatever was read can be written back


# -- mergeable types ------------------------------------------------------------------------

def test_mergeable_types_are_tagged_json_objects() -> None:
    assert json.loads(encode_value(Counter(3))) == {"__webstore__": "counter", "v": 3}
    lww = LastWriterWins({"a": [1]}, 1.5, "w1")
    assert json.loads(encode_value(lww)) == {"__webstore__": "lww", "v": {"a": [1]}, "t": 1.5,
                                             "w": "w1"}
    assert json.loads(encode_value(AddWinsSet({2, "b", None}))) == {
        "__webstore__": "awset", "v": [None, 2, "b"]}  # sorted by type name, then value
    for value in (Counter(-(2**63)), lww, AddWinsSet({1, 2.5, "x", None}),
                  LastWriterWins("123", 2, "")):
        assert round_trip(value) == value and type(round_trip(value)) is type(value)
    for value in (AddWinsSet({b"raw"}), LastWriterWins(b"x", 1.0), LastWriterWins(1, math.inf)):
        blob = encode_value(value)
        assert blob[0] == FRAME and round_trip(value) == value


def test_mergeable_types_still_merge() -> None:
    async def go() -> None:
        repo = Repo.memory()
        main = repo.branch("main")
        await main.set("c", Counter(1))
        await main.set("r", LastWriterWins("a", 1.0, "x"))
        await main.set("s", AddWinsSet({1, 2}))
        await main.set("d", {"keep": 1, "ours": 0, "theirs": 0})
        dev = await repo.create_branch("dev", "main")
        await main.set("c", Counter(4))
        await dev.set("c", Counter(3))
        await main.set("r", LastWriterWins("b", 2.0, "x"))
        await dev.set("r", LastWriterWins("c", 3.0, "y"))
        await main.set("s", AddWinsSet({1, 3}))
        await dev.set("s", AddWinsSet({2, 4}))
        await main.set("d", {"keep": 1, "ours": 1, "theirs": 0})
        await dev.set("d", {"keep": 1, "ours": 0, "theirs": 1})
        result = await main.merge("dev")
        assert result.ok
        assert await main.get("c") == Counter(6)
        assert await main.get("r") == LastWriterWins("c", 3.0, "y")
        assert await main.get("s") == AddWinsSet({3, 4})
        assert await main.get("d") == {"keep": 1, "ours": 1, "theirs": 1}

    asyncio.run(go())


# -- property: every value the codec accepts comes back exactly -----------------------------

_json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
).map(lambda v: json.dumps(v, indent=None if len(str(v)) % 2 else 2))
_tricky_text = st.one_of(
    st.text(), _json_texts,
    st.text(alphabet='{}[]",:0123456789.eE-+ \n\\ufalsetrunl_webstore', max_size=25),
)
_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | \
    st.text(max_size=8)
_mergeable = st.one_of(
    st.builds(Counter, st.integers(-(2**63), 2**64 - 1)),
    st.builds(LastWriterWins, codec_values(), st.floats() | st.integers(0, 2**40),
              st.text(max_size=8)),
    st.frozensets(_scalars | st.binary(max_size=4), max_size=5).map(AddWinsSet),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(codec_values(), _tricky_text, _mergeable,
                 st.dictionaries(st.text(max_size=6), _tricky_text | _mergeable, max_size=3)))
def test_every_storable_value_reads_back_the_same(value: Any) -> None:
    blob = encode_value(value)
    back = decode_value(blob)
    assert same_value(back, value), (value, blob)
    if blob[:1] != bytes([FRAME]):
        blob.decode("utf-8")  # text blobs are valid UTF-8
        if not isinstance(value, str):  # and the JSON is exactly Python's, indented
            text = json.dumps(json.loads(blob), ensure_ascii=False, indent=2) + "\n"
            assert blob == text.encode()


# -- repos written by webstore 0.1.0 --------------------------------------------------------

def _copy_fixture(tmp_path: Path) -> Path:
    target = tmp_path / "v010.sqlite3"
    shutil.copyfile(FIXTURES / "v0.1.0-repo.sqlite3", target)
    return target


async def _open_v010(tmp_path: Path) -> Repo:
    return await Repo.open(v010.NAME, backend="sqlite", path=str(_copy_fixture(tmp_path)))


async def _blob_bytes(repo: Repo, rev: str | ObjectId, path: str) -> bytes:
    entry = await lookup(repo.objects, (await repo.commit(rev)).tree, split_path(path))
    assert entry is not None and not entry.is_tree
    return (await repo.objects.read_blob(entry.id)).data


def test_a_v010_repo_reads_back_exactly_and_fscks_clean(tmp_path: Path) -> None:
    async def go() -> None:
        repo = await _open_v010(tmp_path)
        main = repo.branch("main")
        want = {**v010.VALUES, **v010.SECOND}
        assert [p for p, _ in await main.items()] == sorted(want)
        for path, value in want.items():
            assert same(await main.get(path), value) or await main.get(path) == value, path
            assert (await _blob_bytes(repo, "main", path))[0] == FRAME  # still 0.1.0 blobs
        log = (await repo.history("main")).entries
        assert len(log) == 2
        first = await repo.at(log[-1].id)
        assert await first.get("data/profile") == v010.VALUES["data/profile"]
        assert await first.get("stats/visits") == Counter(3)
        report = await fsck(repo)
        assert report.ok and not report.corrupt and not report.missing
        # Writing on top: new blobs are text, old ones stay readable.
        await main.set("text/more", "new text")
        assert await _blob_bytes(repo, "main", "text/more") == b"new text"
        assert (await fsck(repo)).ok
        await repo.close()

    asyncio.run(go())


def _refuse(path: str, base: Any, ours: Any, theirs: Any) -> Any:
    """A custom merge function that never reconciles: only "unchanged" sides can merge."""
    del path, base, ours, theirs
    return CONFLICT


def test_one_value_in_two_encodings_never_conflicts(tmp_path: Path) -> None:
    async def go() -> None:
        repo = await _open_v010(tmp_path)
        for prefix in ("text", "data", "stats"):
            repo.register_merge(prefix, _refuse)
        main = repo.branch("main")
        first = (await repo.history("main")).entries[-1].id
        before = await main.head()
        assert before is not None
        # ours re-set to the same value (new encoding, new blob id), theirs changed it.
        await main.set("text/hello", v010.VALUES["text/hello"])
        changes = await repo.diff(before, "main")
        assert changes == [Updated("text/hello", v010.VALUES["text/hello"],
                                   v010.VALUES["text/hello"])]
        dev = await repo.create_branch("dev", before)
        await dev.set("text/hello", "changed on dev")
        # ours == theirs by value: framed on main (0.1.0's second commit), JSON on "old".
        old = await repo.create_branch("old", first)
        await old.set("data/profile", v010.SECOND["data/profile"])
        assert (await _blob_bytes(repo, "old", "data/profile"))[0] != FRAME
        assert (await _blob_bytes(repo, "main", "data/profile"))[0] == FRAME
        for source in ("dev", "old"):
            result = await main.merge(source)
            assert result.ok, result.conflicts
        assert await main.get("text/hello") == "changed on dev"
        assert await main.get("data/profile") == v010.SECOND["data/profile"]
        # A counter merges across encodings: base framed 4, ours +2, theirs +1.
        dev2 = await repo.create_branch("dev2", "main")
        repo.register_merge("stats", lambda p, b, o, t: Counter(o.value + t.value - b.value))
        await main.set("stats/visits", Counter(6))
        await dev2.set("stats/visits", Counter(5))
        assert (await main.merge("dev2")).ok
        assert await main.get("stats/visits") == Counter(7)
        assert (await fsck(repo)).ok
        await repo.close()

    asyncio.run(go())


# -- real git -------------------------------------------------------------------------------

async def import_git(repo: Repo, directory: Path, branch: str = "main") -> ObjectId:
    """Store every object reachable in the git repo ``directory``; move ``branch`` to git's."""
    listed = git(directory, "rev-list", "--objects", "--all").decode().splitlines()
    ids = [line.split(" ", 1)[0] for line in listed if line]
    out = git(directory, "cat-file", "--batch", stdin="\n".join(ids).encode() + b"\n")
    pairs: list[tuple[ObjectId, bytes]] = []
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        oid, kind, size = out[pos:end].split(b" ")
        body = out[end + 1:end + 1 + int(size)]
        pairs.append((parse_id(oid.decode()), b"%s %d\x00" % (kind, int(size)) + body))
        pos = end + 1 + int(size) + 1  # the content is followed by a newline
    new = parse_id(git(directory, "rev-parse", branch).decode().strip())
    given = dict(pairs)

    async def lookup(oids: list[ObjectId]) -> list[bytes | None]:
        return [given.get(oid) for oid in oids]

    # checked like any peer's objects (hash, form, types, completeness), then stored
    await repo.objects.add_raw_verified(await receive(repo, lookup, {new: branch}))
    ref = f"heads/{branch}"
    assert await repo.refs.set_if_equals(ref, await repo.refs.get(ref), new)
    return new


PROFILE = {"name": "ada", "age": 36, "langs": ["en", "fr"]}


async def _exported(tmp_path: Path) -> tuple[Repo, Path, list[ObjectId]]:
    repo = await Repo.open("interop", backend="sqlite", path=str(tmp_path / "r.sqlite3"))
    main = repo.branch("main")
    commits = [
        await main.set("notes/todo", "buy milk\nand bread"),
        await main.set("data/profile", PROFILE),
        await main.set("stats/visits", Counter(3)),
        await main.set("raw/bytes", b"\x00\x01"),
        await main.set("data/profile", {**PROFILE, "age": 37}),
    ]
    out = tmp_path / "checkout"
    assert await export_git(repo, out) > 0
    return repo, out, commits


def test_git_shows_text_and_json_and_diffs_by_line(tmp_path: Path) -> None:
    async def go() -> None:
        repo, out, commits = await _exported(tmp_path)
        git(out, "fsck", "--strict", "--no-dangling")
        assert git(out, "show", "HEAD:notes/todo") == b"buy milk\nand bread"
        shown = git(out, "show", "HEAD:data/profile").decode()
        assert shown == json.dumps({**PROFILE, "age": 37}, indent=2) + "\n"
        assert '"age": 37' in shown.splitlines()[2]
        assert json.loads(git(out, "show", "HEAD:stats/visits")) == {"__webstore__": "counter",
                                                                     "v": 3}
        assert git(out, "show", "HEAD:raw/bytes")[0] == FRAME
        diff = git(out, "diff", to_hex(commits[3]), to_hex(commits[4])).decode().splitlines()
        assert '-  "age": 36,' in diff and '+  "age": 37,' in diff
        assert sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")) == 2
        await repo.close()

    asyncio.run(go())


def test_edits_committed_with_git_read_back(tmp_path: Path) -> None:
    async def go() -> None:
        repo, out, _ = await _exported(tmp_path)
        git(out, "checkout", "-q", "-f", "main")
        assert (out / "notes" / "todo").read_text() == "buy milk\nand bread"
        (out / "notes" / "todo").write_text("buy milk\nand eggs\n")
        profile = json.loads((out / "data" / "profile").read_text())
        profile["langs"].append("de")
        (out / "data" / "profile").write_text(json.dumps(profile))  # a person's formatting
        (out / "stats" / "visits").write_text('{"__webstore__": "counter", "v": 10}\n')
        (out / "notes" / "new").write_text("written in git\n")
        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
        (out / "img").mkdir()
        (out / "img" / "logo.png").write_bytes(png)
        (out / "data" / "broken").write_text('{"name": "ada",\n  "age": \n')
        git_commit(out, "edited by hand")
        git(out, "fsck", "--strict", "--no-dangling")

        head = await import_git(repo, out)
        main = repo.branch("main")
        assert await main.head() == head
        assert await main.get("notes/todo") == "buy milk\nand eggs\n"
        assert await main.get("data/profile") == {"name": "ada", "age": 37,
                                                  "langs": ["en", "fr", "de"]}
        assert await main.get("stats/visits") == Counter(10)
        assert await main.get("notes/new") == "written in git\n"
        assert await main.get("img/logo.png") == png
        assert await main.get("data/broken") == '{"name": "ada",\n  "age": \n'
        assert await main.get("raw/bytes") == b"\x00\x01"
        assert (await repo.history("main")).entries[0].message == "edited by hand"
        assert (await fsck(repo)).ok
        # webstore keeps working on top of git's commit, and git reads the result.
        await main.set("stats/visits", Counter(11))
        assert (await repo.diff(head, "main")) == [
            Updated("stats/visits", Counter(10), Counter(11))]
        await export_git(repo, out)
        git(out, "fsck", "--strict", "--no-dangling")
        git(out, "checkout", "-q", "-f", "main")
        assert (out / "img" / "logo.png").read_bytes() == png
        await repo.close()

    asyncio.run(go())
