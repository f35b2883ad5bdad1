"""`mab history` and `mab why` on a database made of records (no engine)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mab.history.record import BuildRecord, StepInputs, StepRecord
from mab.history.store import HistoryStore

RunMab = Callable[..., int]
P = ("linux/amd64", "linux/arm64")
STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"


def build(uid: str, at: float, files: str, state: str) -> BuildRecord:
    steps = []
    for p in P:
        steps.append(StepRecord(p, "", 1, 3, "FROM busybox@sha256:aa", "cached", 0.0))
        inputs = StepInputs(
            f"d{files}", f"o{files}", (), (("src/app.py", files),), files, 1, ("#1",)
        )
        steps.append(StepRecord(p, "", 2, 3, "COPY src/ ./src/", state, 0.2, inputs))
        later = StepInputs(f"e{files}", "o", (), None, "", 0, ("#2",))
        steps.append(StepRecord(p, "", 3, 3, "RUN make", state, 3.0, later))
    return BuildRecord(
        uid, at, 4.0, "succeeded", "app", P, tuple(steps), builder="default", dockerfile_key="k"
    )


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "h.sqlite3"
    monkeypatch.setenv("MAB_HISTORY", str(path))
    with HistoryStore.open(path) as store:
        store.add(build("aaaa1111", 100.0, "1", "ran"))
        store.add(build("bbbb2222", 200.0, "2", "ran"))
    return path


def test_list_show_and_why(
    history: Path, run_mab: RunMab, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_mab("history", "--json") == 0
    builds = json.loads(capsys.readouterr().out)["builds"]
    assert [b["uid"] for b in builds] == ["bbbb2222", "aaaa1111"]
    assert builds[0]["platforms"]["linux/arm64"] == {
        "steps": 2,
        "cached": 0,
        "hit_ratio": 0.0,
        "duration_s": 3.2,
    }
    assert run_mab("history") == 0
    assert "linux/arm64 0% 3.2s" in capsys.readouterr().out
    assert run_mab("history", "show", "bbbb") == 0
    assert "2/3 COPY src/ ./src/" in capsys.readouterr().out
    assert run_mab("why", "--platform", "linux/arm64") == 0
    out = capsys.readouterr().out
    assert "linux/arm64: 2/3 COPY src/ ./src/" in out
    assert "sources changed: src/app.py changed" in out
    assert "linux/amd64" not in out
    assert run_mab("why", "2", "--json") == 0
    causes = json.loads(capsys.readouterr().out)["platforms"]["linux/amd64"]
    assert [c["cause"] for c in causes] == ["sources_changed", "parent_missed"]


def test_diff_rm_and_prune(
    history: Path, run_mab: RunMab, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_mab("history", "diff", "1", "2") == 0
    out = capsys.readouterr().out
    assert "[linux/amd64] 2/3 COPY src/ ./src/: sources: src/app.py changed" in out
    assert "upstream" not in out and "only in" not in out
    assert run_mab("history", "rm", "1") == 0
    assert run_mab("history", "prune", "--keep", "0") == 0
    assert "removed 1 builds" in capsys.readouterr().out
    with HistoryStore.open(history) as store:
        assert store.count() == 0


def test_ls_and_list_list_and_show_defaults_to_the_last_build(
    history: Path, run_mab: RunMab, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_mab("history") == 0
    listed = capsys.readouterr().out
    for alias in ("ls", "list"):
        assert run_mab("history", alias) == 0
        assert capsys.readouterr().out == listed
    assert run_mab("history", "show") == 0
    assert capsys.readouterr().out.startswith("build 2 (bbbb2222)")


def test_why_of_a_failed_build_says_what_did_not_finish(
    tmp_path: Path, run_mab: RunMab, capsys: pytest.CaptureFixture[str]
) -> None:
    """amd64: every step that ran came from the cache and the last was canceled when arm64
    failed: never "every step came from the cache"."""
    steps = []
    for p, last in (("linux/amd64", "canceled"), ("linux/arm64", "failed")):
        steps.append(StepRecord(p, "", 1, 2, "RUN prepare", "cached", 0.0))
        steps.append(StepRecord(p, "", 2, 2, "RUN make", last, 1.0))
    failed = BuildRecord("f1", 10.0, 2.0, "failed", "app", P, tuple(steps), dockerfile_key="k")
    db = tmp_path / "h.sqlite3"
    with HistoryStore.open(db) as store:
        store.add(failed)
    assert run_mab("why", "--history", str(db)) == 0
    out = capsys.readouterr().out
    assert "every step came from the cache" not in out
    assert "did not finish: canceled because linux/arm64 failed at 2/2 RUN make" in out
    assert "did not finish: it failed" in out
    assert run_mab("why", "--history", str(db), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["outcome"] == "failed"
    assert [u["state"] for u in shown["unfinished"]["linux/amd64"]] == ["canceled"]


def test_import_a_recording(
    history: Path, run_mab: RunMab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "warm.rawjson"
    shutil.copy(STREAMS / "warm-multi.rawjson", recording)
    assert run_mab("history", "import", str(recording)) == 0
    assert "imported" in capsys.readouterr().out
    assert run_mab("history", "show", "last", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["source"] == "replay"
    steps = [s for s in shown["steps"] if not s["instruction"].startswith("FROM ")]
    assert len(steps) == 16 and {s["state"] for s in steps} == {"cached"}  # 8 per platform


def test_bad_input_is_a_message_not_a_traceback(
    history: Path,
    run_mab: RunMab,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_mab("history", "show", "99") == 2
    assert "no build matches '99'" in capsys.readouterr().err
    assert run_mab("why", "--platform", "linux/s390x") == 2
    assert "has no platform linux/s390x" in capsys.readouterr().err
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a database" * 64)
    assert run_mab("history", "--history", str(broken)) == 2
    err = capsys.readouterr().err
    assert "cannot open the build history" in err and "Traceback" not in err
    assert broken.read_bytes() == b"this is not a database" * 64
    monkeypatch.setenv("MAB_HISTORY", "off")
    assert run_mab("history") == 2
    assert "build history is off" in capsys.readouterr().err
    assert (
        run_mab("history", "import", str(tmp_path / "missing.rawjson"), "--history", str(history))
        == 2
    )


QA = Path(__file__).resolve().parents[1] / "fixtures" / "qa"


def test_import_of_a_stream_that_names_no_platform_keeps_its_steps(
    run_mab: RunMab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`docker buildx build --progress=rawjson` of one platform (recorded on the engine, no
    mab header): its steps were dropped (0 steps); now they are stored under the platform
    `mab replay` would infer, or the one given with --platform."""
    db = str(tmp_path / "h.sqlite3")
    recording = str(QA / "single-raw.rawjson")
    assert run_mab("history", "import", recording, "--history", db) == 0
    assert "(3 steps)" in capsys.readouterr().out
    argv = ("history", "import", recording, "--history", db, "--platform", "linux/arm64")
    assert run_mab(*argv) == 0
    assert run_mab("history", "show", "last", "--json", "--history", db) == 0
    shown = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert {s["platform"] for s in shown["steps"]} == {"linux/arm64"}


def test_a_history_path_through_a_file_or_at_a_folder_is_named(
    run_mab: RunMab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file where a folder should be (the fixture as a folder) and a folder where the file
    should be: what is wrong, not `[Errno 17] File exists`; nothing is created or changed."""
    corrupt = tmp_path / "history-corrupt.db"
    shutil.copyfile(QA / "history-corrupt.db", corrupt)
    assert run_mab("history", "--history", str(corrupt / "h.db")) == 2
    err = capsys.readouterr().err
    assert f"{corrupt} is a file, not a folder" in err and "Errno" not in err
    assert corrupt.read_bytes() == (QA / "history-corrupt.db").read_bytes()
    assert run_mab("why", "--history", str(tmp_path)) == 2
    assert "it is a folder, not a history file" in capsys.readouterr().err


def test_import_into_a_read_only_history_is_the_environment(
    run_mab: RunMab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The history file made immutable (`chattr +i`: root ignores permission bits): exit 3
    with a hint, as the README says of a file mab must write; the file is left as it was."""
    import subprocess

    db = tmp_path / "h.sqlite3"
    recording = str(QA / "single-raw.rawjson")
    assert run_mab("history", "import", recording, "--history", str(db)) == 0
    before = db.read_bytes()
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        assert run_mab("history", "import", recording, "--history", str(db)) == 3
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    err = capsys.readouterr().err
    assert "cannot store the build: attempt to write a readonly database" in err
    assert "hint: make it writable" in err
    assert db.read_bytes() == before


def test_reading_a_history_that_is_not_there_makes_nothing(
    run_mab: RunMab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mab history`, `why`, `show`, `prune` with --history in a folder that does not exist:
    the answers of an empty history, and no folder and no database file left behind (they were
    made by a command that only reads)."""
    db = str(tmp_path / "not" / "yet" / "h.sqlite3")
    assert run_mab("history", "--history", db) == 0
    assert "no builds recorded yet" in capsys.readouterr().err
    assert run_mab("why", "--history", db) == 2
    assert run_mab("history", "show", "last", "--history", db) == 2
    assert run_mab("history", "prune", "--keep", "1", "--history", db) == 0
    assert not (tmp_path / "not").exists()
    assert run_mab("history", "import", str(QA / "single-raw.rawjson"), "--history", db) == 0
    assert Path(db).is_file()
