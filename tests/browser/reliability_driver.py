"""Runs inside Pyodide in the browser: the page side of the reliability tests.

Loaded into a test page by ``reliability_util.load_driver``; every coroutine returns JSON text
and is awaited from JavaScript, so no JSPI is needed (WebKitGTK too). The host test decides
what to check; these functions only act and report.
"""

import json

import js

import webstore
from webstore.errors import RefMoved
from webstore.versioned import Repo, fsck, to_hex
from webstore.versioned.fsck import reachable


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
            have = {to_hex(o) for o in await reachable(repo.objects, [head])}
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
    """Drop everything under ``location``."""
    b = await webstore.open_backend(backend, location=location)
    if hasattr(b, "destroy"):
        await b.destroy()
    else:
        await b.delete_prefix("")
        await b.close()
    return "null"
