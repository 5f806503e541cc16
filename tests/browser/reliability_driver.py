"""Runs inside Pyodide in the browser: the page side of the reliability tests.

Loaded into a test page by ``reliability_util.load_driver``; every coroutine returns JSON text
and is awaited from JavaScript, so no JSPI is needed (WebKitGTK too). The host test decides
what to check; these functions only act and report.
"""

import json

import js

import webstore
from webstore.errors import RefMoved
from webstore.testing.raw import object_key
from webstore.versioned import Repo, fsck, to_hex


async def open_repo(backend, location, name="crash"):
    """A fresh ``Repo`` object (no caches) on ``backend`` under ``location``."""
    return await Repo.open(name, backend=backend, path=location)


# -- crash consistency --------------------------------------------------------------------------


async def writer(backend, location, start):
    """Commit forever; push ``"<branch> <hex>"`` to ``window.reported`` after each returns.

    Two branches; every third commit is a multi-path transaction, so commits carry several new
    trees and blobs. Runs until the page or the browser is killed.
    """
    repo = await open_repo(backend, location)
    branches = [repo.branch("main"), repo.branch("side")]
    i = start
    while True:
        branch = branches[i % 5 == 4]
        if i % 3 == 0:
            async with branch.transaction(f"tx {i}") as tx:
                for j in range(4):
                    tx.set(f"t/{(i + j) % 37}/{j}", {"i": i, "j": j, "pad": "y" * (i % 300)})
            cid = tx.commit
        else:
            cid = await branch.set(f"k/{i % 53}", {"i": i, "pad": "x" * (i % 500)},
                                   message=f"c{i}")
        js.window.reported.push(f"{branch.name} {to_hex(cid)}")
        i += 1


async def check_repo(backend, location, reported_json):
    """After a restart: fsck, heads on complete commits, every reported commit still there."""
    reported = json.loads(reported_json)
    repo = await open_repo(backend, location)
    report = await fsck(repo)
    heads = {name: await repo.branch(name).head() for name in await repo.branches()}
    lost = []
    for name, commits in reported.items():
        head = heads.get(name)
        have = set()
        if head is not None and report.ok:
            have = {to_hex(o) for o in await repo.objects.reachable([head])}
        lost += [c for c in commits if c not in have]
    commits = 0
    if report.ok and heads.get("main") is not None:
        page = await repo.history("main", limit=100_000)
        commits = len(page.entries)
    await repo.close()
    return json.dumps({
        "fsck_ok": report.ok, "checked": report.checked, "missing": report.missing,
        "corrupt": report.corrupt, "refs": report.refs,
        "heads": {n: to_hex(h) for n, h in heads.items()}, "lost": lost,
        "main_commits": commits,
    })


# -- concurrent tabs ----------------------------------------------------------------------------


def tab_path(tab, i):
    """Path of commit ``i`` of ``tab``: 20 per subtree keeps trees (and localStorage) small."""
    return f"{tab}/{i // 20}/{i % 20}"


async def tab_commits(backend, location, tab, count):
    """``count`` commits to ``main`` of one repo, each adding a path of its own.

    Counts the compare-and-set attempts that lost the race (``Branch.set`` then re-applies
    its change on the new head) and the longest losing streak.
    """
    repo = await open_repo(backend, location, "tabs")
    cas = repo.refs.set_if_equals
    lost = {"races_lost": 0, "streak": 0, "longest_streak": 0}

    async def counting(ref, expected, new):
        done = await cas(ref, expected, new)
        lost["streak"] = 0 if done else lost["streak"] + 1
        lost["races_lost"] += not done
        lost["longest_streak"] = max(lost["longest_streak"], lost["streak"])
        return done

    repo.refs.set_if_equals = counting
    main = repo.branch("main")
    ids = []
    gave_up = 0
    for i in range(count):
        while True:
            try:
                ids.append(to_hex(await main.set(tab_path(tab, i), i, message=f"{tab} {i}")))
                break
            except RefMoved:  # Branch.set gave up after its retries: count, and go again
                gave_up += 1
    await repo.close()
    del lost["streak"]
    lost["gave_up"] = gave_up
    return json.dumps({"ids": ids, **lost})


async def tab_history(backend, location):
    """Every commit on ``main`` with its message, and the tree's paths."""
    repo = await open_repo(backend, location, "tabs")
    page = await repo.history("main", limit=1_000_000)
    items = await repo.branch("main").items()
    report = await fsck(repo)
    await repo.close()
    return json.dumps({"commits": [to_hex(e.id) for e in page.entries],
                       "messages": [e.message for e in page.entries],
                       "paths": [p for p, _ in items], "fsck_ok": report.ok})


async def tab_set_many(backend, location, tab, count, keys):
    """``count`` batches, each writing ``[tab, i]`` to all of ``keys`` at once.

    After each batch all keys are read back in one ``get_many``: a read mixing two batches
    (a torn read) is counted.
    """
    store = await webstore.open("tabs-kv", backend=backend, path=location)
    torn = []
    for i in range(count):
        await store.set_many({k: [tab, i] for k in keys})
        seen = await store.get_many(keys)
        if any(v != seen[0] for v in seen):
            torn.append(seen)
    await store.close()
    return json.dumps({"count": count, "torn": len(torn), "example": torn[:1]})


async def kv_state(backend, location):
    """The whole ``tabs-kv`` store."""
    store = await webstore.open("tabs-kv", backend=backend, path=location)
    items = await store.items()
    await store.close()
    return json.dumps(items)


async def forget(backend, location):
    """Drop everything under ``location`` (page.html's ``webstore_driver`` knows how)."""
    import webstore_driver

    await webstore_driver.forget(backend, location)
    return "null"


# -- corruption ---------------------------------------------------------------------------------

_RAW = []
_RAW_JS = r"""({
  // Flip a bit / truncate / replace the bytes stored under `key`, with a raw IDB transaction.
  async idb(dbName, key, kind, pos, bit) {
    const db = await new Promise((ok, fail) => {
      const r = indexedDB.open(dbName);
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    try {
      return await new Promise((ok, fail) => {
        const tx = db.transaction("kv", "readwrite");
        const store = tx.objectStore("kv");
        const get = store.get(key);
        get.onsuccess = () => {
          const old = get.result;
          let v = new Uint8Array(old.byteLength);
          v.set(new Uint8Array(old.buffer, old.byteOffset, old.byteLength));
          if (kind === "flip") v[pos % v.length] ^= 1 << bit;
          else if (kind === "truncate") v = v.slice(0, pos % v.length);
          else if (kind === "text") v = "not bytes at all";
          store.put(v, key);
        };
        tx.oncomplete = () => ok(true);
        tx.onerror = () => fail(tx.error);
      });
    } finally { db.close(); }
  },
  // The same on localStorage's packed text (15 data bits per char after a marker char).
  ls(location, key, kind, pos, bit) {
    const full = location + "\u0000" + key;
    const t = localStorage.getItem(full);
    const i = 1 + (pos % Math.max(1, t.length - 2)); // never the last char: it holds padding
    let out;
    if (kind === "flip") {
      const c = ((t.charCodeAt(i) - 0x800) ^ (1 << (bit % 15))) + 0x800;
      out = t.slice(0, i) + String.fromCharCode(c) + t.slice(i + 1);
    } else if (kind === "truncate") out = t.slice(0, i);
    else out = "not webstore data";
    localStorage.setItem(full, out);
    return true;
  },
})"""


def _raw():
    if not _RAW:
        from pyodide.code import run_js

        _RAW.append(run_js(_RAW_JS))
    return _RAW[0]


async def _inject(backend, location, key, kind, pos, bit):
    if backend == "indexeddb":
        await _raw().idb(location, key, kind, pos, bit)
    else:
        _raw().ls(location, key, kind, pos, bit)


def _corrupt_value(i):
    return {"i": i, "text": "é" * (i % 7) + "v" * i, "list": list(range(i % 9))}


async def corruption(backend, location, seed, objects, values, kinds=("flip", "truncate")):
    """Inject ``objects`` + ``values`` corruptions with raw storage writes, then read them.

    Every read of a corrupted object or value must raise IntegrityError naming it; reads of
    everything else must return the original data; fsck / fsck_store must list each one.
    """
    import random

    from webstore.errors import IntegrityError
    from webstore.kv import fsck_store
    from webstore.kv.store import namespace_prefix

    rng = random.Random(seed)
    repo = await open_repo(backend, location, "corrupt")
    main = repo.branch("main")
    model = {}
    for i in range(30):
        async with main.transaction(f"c{i}") as tx:
            for j in range(3):
                path = f"d{(i + j) % 5}/k{(i * 3 + j) % 40}"
                model[path] = _corrupt_value(i * 3 + j)
                tx.set(path, model[path])
    head = await main.head()
    ids = await repo.objects.reachable([head])
    store = await webstore.open("corrupt-kv", backend=backend, path=location)
    kv = {f"key{i}": _corrupt_value(i) for i in range(40)}
    await store.set_many(kv)
    await store.close()
    await repo.close()

    out = {"objects_injected": [], "values_injected": [], "object_read_found": 0,
           "object_fsck_found": 0, "value_read_found": 0, "value_fsck_found": 0,
           "wrong_data": [], "other_errors": [], "path_reads_refused": 0}
    for oid in rng.sample(ids, objects):
        kind = rng.choice(kinds)
        await _inject(backend, location, object_key(repo, oid), kind, rng.randrange(1 << 20),
                      rng.randrange(8))
        out["objects_injected"].append([to_hex(oid), kind])
    prefix = namespace_prefix("corrupt-kv")
    for key in rng.sample(sorted(kv), values):
        kind = rng.choice(kinds)
        await _inject(backend, location, prefix + key, kind, rng.randrange(1 << 20),
                      rng.randrange(8))
        out["values_injected"].append([key, kind])

    fresh = await open_repo(backend, location, "corrupt")
    for name, _ in out["objects_injected"]:
        try:
            await fresh.objects.get(bytes.fromhex(name))
            out["wrong_data"].append(f"object {name} was returned")
        except IntegrityError as exc:
            out["object_read_found"] += exc.key == name and name in str(exc)
        except Exception as exc:
            out["other_errors"].append(f"object {name}: {type(exc).__name__}: {exc}"[:300])
    for path, want in model.items():  # through the branch: the value or IntegrityError
        try:
            got = await fresh.branch("main").get(path)
        except IntegrityError:
            out["path_reads_refused"] += 1
            continue
        except Exception as exc:
            out["other_errors"].append(f"path {path}: {type(exc).__name__}: {exc}"[:300])
            continue
        if got != want:
            out["wrong_data"].append(f"path {path}: {got!r}")
    try:
        report = await fsck(fresh)
    except Exception as exc:
        out["other_errors"].append(f"fsck: {type(exc).__name__}: {exc}"[:300])
        report = None
    found = set() if report is None else set(report.corrupt) | set(report.missing)
    out["object_fsck_found"] = sum(name in found for name, _ in out["objects_injected"])
    out["fsck_false_alarms"] = sorted(found - {n for n, _ in out["objects_injected"]})
    await fresh.close()

    store = await webstore.open("corrupt-kv", backend=backend, path=location)
    bad = {k for k, _ in out["values_injected"]}
    for key, want in kv.items():
        try:
            got = await store.get(key)
        except IntegrityError as exc:
            out["value_read_found"] += key in bad and exc.key == key
            if key not in bad:
                out["wrong_data"].append(f"value {key} raised although intact")
            continue
        except Exception as exc:
            out["other_errors"].append(f"value {key}: {type(exc).__name__}: {exc}"[:300])
            continue
        if key in bad or got != want:
            out["wrong_data"].append(f"value {key}: {got!r}"[:300])
    try:
        listed = await fsck_store(store)
        out["value_fsck_found"] = len(bad & set(listed))
        out["fsck_store_false_alarms"] = sorted(set(listed) - bad)
    except Exception as exc:
        out["other_errors"].append(f"fsck_store: {type(exc).__name__}: {exc}"[:300])
    await store.close()
    return json.dumps(out)


# -- hostile input ------------------------------------------------------------------------------


_PROGRAMS = {}


def _generate(examples, seed, max_bytes):
    """Hypothesis programs (generation only, no shrinking), kept for the next backend."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from webstore.testing.hostile import programs

    collected = []

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(programs(max_ops=8, max_bytes=max_bytes))
    def collect(program):
        collected.append(program)

    collect()
    return collected


async def hostile(backend, location, examples, seed, max_bytes):
    """``examples`` Hypothesis programs of hostile operations, generated here (synchronously)
    and replayed with ``await`` on an emptied store each; JSON stats, or the failing program.
    """
    import time
    from collections import Counter

    from webstore.kv import fsck_store
    from webstore.testing.hostile import HostileReplayer

    began = time.perf_counter()
    collected = _PROGRAMS.get((examples, seed, max_bytes))
    if collected is None:
        collected = _PROGRAMS[examples, seed, max_bytes] = _generate(examples, seed, max_bytes)
    generated = time.perf_counter()

    store = await webstore.open("hostile", backend=backend, path=location)
    stats = Counter()
    try:
        for program in collected:
            await store.clear()
            replayer = HostileReplayer(store)
            try:
                for op in program:
                    await replayer.apply(op)
                    stats[op[0]] += 1
                await replayer.verify()
                bad = await fsck_store(store)
                assert bad == {}, f"fsck_store: {bad}"
            except Exception as exc:
                return json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000],
                                   "program": repr(program)[:4000], "stats": dict(stats)})
            stats["examples"] += 1
            stats["round trips"] += replayer.round_trips
            for err, n in replayer.errors.items():
                stats[err] += n
    finally:
        await store.clear()
        await store.close()
    return json.dumps({"ok": True, "stats": dict(stats),
                       "generate_s": generated - began,
                       "replay_s": time.perf_counter() - generated})


# -- huge values ----------------------------------------------------------------------------------


def _huge(kind, size, seed):
    """``size`` pseudo-random bytes, as ``bytes`` or as an ``array('d')`` (any bit pattern:
    NaN payloads, -0.0, infinities)."""
    import random
    from array import array

    data = random.Random(seed).randbytes(size)
    return data if kind == "bytes" else array("d", data)


def _same(a, b):
    """Bit-exact equality, typed arrays included (NaN != NaN would fail ``==``)."""
    return type(a) is type(b) and (a == b if isinstance(a, bytes)
                                   else (a.typecode, a.tobytes()) == (b.typecode, b.tobytes()))


async def huge_values(backend, location, steps):
    """Write each ``[kind, size]`` of ``steps`` to one key, read it back, check the rest.

    Each step is ``faithful`` (read back bit-exact), ``refused: <Error>`` (a clear webstore
    error; then the key must still hold the last accepted value) or ``wrong``/``other: ...``.
    After a refusal, deleting the key must make room for a 1 MiB write again. A 1 MiB value
    is also committed to a repo and read back, and fsck / fsck_store must stay clean.
    """
    from webstore.errors import StorageFull, UnsupportedValue
    from webstore.kv import fsck_store

    store = await webstore.open("huge", backend=backend, path=location)
    await store.set("before", {"small": True})
    out = {"steps": [], "intact_after_refusal": True, "recovered": None}
    last = None
    for i, (kind, size) in enumerate(steps):
        value = _huge(kind, size, i)
        try:
            await store.set("big", value)
        except (StorageFull, UnsupportedValue) as exc:
            out["steps"].append(f"refused: {type(exc).__name__}")
            kept = await store.get("big")
            out["intact_after_refusal"] &= (kept is None if last is None else _same(kept, last))
            out["intact_after_refusal"] &= await store.get("before") == {"small": True}
            continue
        except Exception as exc:
            out["steps"].append(f"other: {type(exc).__name__}: {exc}"[:300])
            continue
        back = await store.get("big")
        out["steps"].append("faithful" if _same(back, value) else "wrong")
        last = value
        del back
    if any(s.startswith("refused") for s in out["steps"]):
        await store.delete("big")
        again = _huge("bytes", 2**20, 99)
        await store.set("big", again)
        out["recovered"] = _same(await store.get("big"), again)
    out["fsck_store"] = sorted(await fsck_store(store))
    await store.close()
    repo = await open_repo(backend, location, "huge-repo")
    blob = _huge("bytes", 2**20, 7)
    await repo.branch("main").set("blob", blob, message="1 MiB")
    out["repo_blob_faithful"] = _same(await repo.branch("main").get("blob"), blob)
    out["repo_fsck_ok"] = (await fsck(repo)).ok
    await repo.close()
    return json.dumps(out)
