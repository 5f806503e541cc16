"""Commits people read and edit with Git, through a real server (issues: readable commits, sync).

webstore pushes a str, a dict, an int, a float, bytes and a Float64Array-like typed array;
``git clone`` shows the text and the JSON exactly, ``git diff`` shows a changed dict line,
``git fsck --strict`` passes. A person edits in the checkout (text, JSON, a new text file, a
PNG, a JSON file with a syntax error), commits and pushes with git; webstore pulls and reads
a ``str``, the edited dict, the new ``str``, ``bytes``, and the broken JSON as its ``str``.
"""

from __future__ import annotations

import array
import asyncio
import json
from pathlib import Path

from gitserver import GitServer, git

from webstore.versioned import GitRemote, Repo, pull, push

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(40))


def test_people_read_and_edit_what_webstore_pushed(git_server: GitServer, repo_name: str,
                                                   tmp_path: Path) -> None:
    url = git_server.url(repo_name)
    work = tmp_path / "checkout"
    db = str(tmp_path / "app.sqlite3")

    async def write() -> None:
        repo = await Repo.open("app", path=db)
        main = repo.branch("main")
        async with main.transaction("first notes") as tx:
            tx.set("notes/shopping", "milk\nbread\n")
            tx.set("notes/number-like", "123")
            tx.set("data/trip", {"where": "Lisbon", "days": 4})
            tx.set("data/count", 7)
            tx.set("data/ratio", 0.25)
            tx.set("bin/raw", b"\x00\x01\xff")
            tx.set("bin/samples", array.array("d", [1.5, -0.0, 2.25]))
        await main.set("data/trip", {"where": "Lisbon", "days": 5}, message="one more day")
        await push(repo, GitRemote(url), "main")
        await repo.close()

    asyncio.run(write())
    git("clone", "-q", url, work)
    git("-C", work, "fsck", "--strict")
    assert (work / "notes" / "shopping").read_bytes() == b"milk\nbread\n"
    assert json.loads((work / "notes" / "number-like").read_text()) == "123"
    assert git("-C", work, "show", "HEAD:data/trip").stdout == \
        b'{\n  "where": "Lisbon",\n  "days": 5\n}\n'
    diff = git("-C", work, "diff", "HEAD~1", "HEAD").stdout.decode()
    assert '-  "days": 4' in diff and '+  "days": 5' in diff and "Binary" not in diff
    assert (work / "data" / "count").read_text() == "7\n"
    assert (work / "bin" / "raw").read_bytes()[:1] == b"\xc1"  # framed: not text

    (work / "notes" / "shopping").write_text("milk\nbread\neggs\n")
    trip = json.loads((work / "data" / "trip").read_text())
    trip["days"] = 6
    (work / "data" / "trip").write_text(json.dumps(trip, indent=2) + "\n")
    (work / "notes" / "new").write_text("written by a person\n")
    (work / "bin" / "logo.png").write_bytes(PNG)
    (work / "data" / "broken").write_text('{"oops": \n')
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-qm", "edits by a person")
    git("-C", work, "push", "-q", "origin", "main")

    async def read_back() -> None:
        repo = await Repo.open("app", path=db)
        result = await pull(repo, GitRemote(url), "main")
        assert result.fast_forward
        main = repo.branch("main")
        assert await main.get("notes/shopping") == "milk\nbread\neggs\n"
        assert await main.get("data/trip") == {"where": "Lisbon", "days": 6}
        assert await main.get("notes/new") == "written by a person\n"
        assert await main.get("bin/logo.png") == PNG
        assert await main.get("data/broken") == '{"oops": \n'  # a str, never an exception
        assert await main.get("notes/number-like") == "123"
        assert await main.get("data/count") == 7 and await main.get("data/ratio") == 0.25
        samples = await main.get("bin/samples")
        assert isinstance(samples, array.array) and samples.tolist() == [1.5, -0.0, 2.25]
        await repo.close()

    asyncio.run(read_back())
