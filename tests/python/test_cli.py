"""The ``webstore`` command, run as a user would: separate processes, one SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WEBSTORE_PATH=str(tmp_path / "cli.sqlite3"))
    return subprocess.run([sys.executable, "-m", "webstore", *args], capture_output=True,
                          text=True, env=env, input=stdin, timeout=60, check=False)


def test_set_then_get_in_a_new_process(tmp_path: Path) -> None:
    assert run(tmp_path, "set", "greeting", '"hi"').returncode == 0
    got = run(tmp_path, "get", "greeting")
    assert got.returncode == 0 and got.stdout == '"hi"\n'


def test_console_script_is_installed(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("webstore")
    env = dict(os.environ, WEBSTORE_PATH=str(tmp_path / "s.sqlite3"))
    subprocess.run([exe, "set", "k", "[1, 2]"], check=True, env=env)
    out = subprocess.run([exe, "get", "k"], check=True, env=env, capture_output=True, text=True)
    assert json.loads(out.stdout) == [1, 2]


@pytest.mark.parametrize(("args", "code", "message"), [
    (("get", "missing"), 1, "key not found"),
    (("delete", "missing"), 1, "key not found"),
    (("set", "k", "not json"), 2, "not valid JSON"),
    (("set", "", "1"), 2, "must not be empty"),
    (("set", "k", '{"$bytes": "%%%"}'), 2, "invalid base64"),
    (("set", "k", "18446744073709551616"), 2, "64-bit range"),
])
def test_bad_input_gives_clear_error_and_exit_code(
        tmp_path: Path, args: tuple[str, ...], code: int, message: str) -> None:
    result = run(tmp_path, *args)
    assert result.returncode == code, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_export_import_round_trip_with_binary_and_typed_arrays(tmp_path: Path) -> None:
    values = {
        "b": '{"$bytes": "AP8="}',
        "t": '{"$tuple": [1, {"$float": "7ff8000000000001"}]}',
        "u": '"unicode \\u00e9 \\ud83d\\ude00"',
        "d": '{"$dict": {"$not-a-tag": 1}}',
    }
    for key, value in values.items():
        assert run(tmp_path, "set", key, value).returncode == 0
    exported = run(tmp_path, "export").stdout
    assert run(tmp_path, "--name", "copy", "import", stdin=exported).returncode == 0
    again = run(tmp_path, "--name", "copy", "export").stdout
    assert again == exported
    assert run(tmp_path, "--name", "copy", "get", "d").stdout.strip() == values["d"]


def test_import_is_all_or_nothing(tmp_path: Path) -> None:
    lines = '{"key": "a", "value": 1}\n{"key": "", "value": 2}\n'
    result = run(tmp_path, "import", stdin=lines)
    assert result.returncode == 2
    assert run(tmp_path, "keys").stdout == ""


def test_typed_array_json_form_round_trips(tmp_path: Path) -> None:
    import array

    from webstore.kv.jsonform import from_json, to_json

    value = array.array("d", [1.5, -0.0])
    form = to_json(value)
    assert form["$typed"]["kind"] == "Float64Array" and form["$typed"]["shape"] == [2]
    back = from_json(json.loads(json.dumps(form)))
    assert back.typecode == "d" and back.tobytes() == value.tobytes()


def test_commit_then_show_round_trip(tmp_path: Path) -> None:
    first = run(tmp_path, "commit", "todo/1", '{"text": "milk"}', "-m", "add milk")
    assert first.returncode == 0, first.stderr
    head = run(tmp_path, "commit", "--branch", "dev", "b", '{"$bytes": "AP8="}', "-m", "bytes")
    assert head.returncode == 0 and len(head.stdout.strip()) == 64
    assert run(tmp_path, "show", "main:todo/1").stdout == '{"text": "milk"}\n'
    assert run(tmp_path, "show", "dev:b").stdout == '{"$bytes": "AP8="}\n'
    assert run(tmp_path, "show", f"{head.stdout.strip()}:b").stdout == '{"$bytes": "AP8="}\n'
    shown = run(tmp_path, "show", "main").stdout.splitlines()
    assert shown[0] == "commit " + first.stdout.strip()
    assert shown[1].startswith("Author: ") and shown[2].startswith("Date:   ")
    assert shown[3:] == ["", "    add milk", "", "A todo/1"]
    removed = run(tmp_path, "commit", "--remove", "todo", "-m", "clear")
    assert removed.returncode == 0
    assert run(tmp_path, "show", "main").stdout.splitlines()[-1] == "D todo/1"
    assert run(tmp_path, "log").stdout.count("\n") == 2


@pytest.mark.parametrize(("args", "code", "message"), [
    (("show", "main:nope"), 1, "key not found"),
    (("show", "nobranch"), 1, "key not found"),
    (("commit", "--remove", "nope", "-m", "x"), 1, "key not found"),
    (("commit", "k", "-m", "x"), 2, "JSON value"),
    (("commit", "k", "not json", "-m", "x"), 2, "not valid JSON"),
    (("commit", "--remove", "k", "1", "-m", "x"), 2, "PATH only"),
    (("remote", "add", "origin", "http://me:Pa55word@example.org/x.git"), 2, "credentials"),
    (("remote", "add", "origin", "ftp://example.org/x.git"), 2, "http://"),
    (("remote", "add", "b@d", "http://example.org/x.git"), 2, "remote name"),
    (("remote", "remove", "origin"), 1, "key not found"),
])
def test_commit_show_remote_bad_input(
        tmp_path: Path, args: tuple[str, ...], code: int, message: str) -> None:
    run(tmp_path, "commit", "k", "1", "-m", "seed")
    result = run(tmp_path, *args)
    assert result.returncode == code, result
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "Pa55word" not in result.stderr


def test_remote_add_list_remove(tmp_path: Path) -> None:
    url = "https://git.example.org/notes.git"
    assert run(tmp_path, "remote").stdout == ""
    assert run(tmp_path, "remote", "add", "origin", url).returncode == 0
    assert run(tmp_path, "remote", "add", "backup", "http://127.0.0.1:9/b").returncode == 0
    again = run(tmp_path, "remote", "add", "origin", "https://other.example.org/x")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert run(tmp_path, "remote").stdout == f"backup http://127.0.0.1:9/b\norigin {url}\n"
    assert run(tmp_path, "--name", "other", "remote").stdout == ""  # remotes are per repo
    assert run(tmp_path, "keys").stdout == ""  # not among the store's own keys
    assert run(tmp_path, "remote", "remove", "backup").returncode == 0
    assert run(tmp_path, "remote").stdout == f"origin {url}\n"


def test_key_value_commands_do_not_load_the_git_client(tmp_path: Path) -> None:
    code = ("import sys; from webstore.cli import main; main(['get', 'k']); "
            "sys.exit('webstore.remote' in sys.modules)")
    env = dict(os.environ, WEBSTORE_PATH=str(tmp_path / "cli.sqlite3"))
    for argv in (["--name", "x", "get", "k"], ["--store", str(tmp_path / "s"), "log"]):
        probe = code.replace("['get', 'k']", repr(argv))
        assert subprocess.run([sys.executable, "-c", probe], env=env, check=False,
                              capture_output=True).returncode == 0, argv
    help_text = run(tmp_path, "--help").stdout
    assert all(f"    {c} " in help_text for c in ("remote", "push", "pull", "fetch", "clone"))
