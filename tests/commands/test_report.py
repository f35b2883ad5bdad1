"""`mab report` from a recording and from the history database, and `mab replay --trace`: what
the page holds, and clear errors (nothing written) for what cannot be read or written."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mab.errors import EXIT_USAGE
from mab.history.capture import record_of_replay
from mab.history.record import loads
from mab.history.store import HistoryStore
from mab.progress.replay import model_of_recording
from tests.commands.conftest import Mab

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"


def bars(page: str) -> dict[str, int]:
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r'<g class="track" data-platform="([^"]+)" data-bars="(\d+)"', page)
    }


def test_report_of_a_recording(mab: Mab, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, _, err = mab("report", str(STREAMS / "fail.rawjson"), "-o", str(out))
    assert code == 0, err
    assert f"wrote {out}" in err
    page = out.read_text()
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    assert "default-src 'none'" in page  # nothing may load at view time
    assert '<span class="status bad">✗ failed</span>' in page
    assert "✗ failed" in page and "exit code: 1" in page  # the failed step and its error
    found = bars(page)
    assert set(found) == {"linux/amd64", "build-wide"} and all(found.values())
    assert page.count('<g class="bar ') == sum(found.values())


def test_instructions_are_escaped(mab: Mab, tmp_path: Path) -> None:
    """A RUN line holding markup shows as text, never as markup."""
    data = (STREAMS / "single.rawjson").read_bytes().replace(b"WORKDIR /app", b"WORKDIR /<b>x")
    (tmp_path / "s.rawjson").write_bytes(data)
    code, _, _ = mab("report", str(tmp_path / "s.rawjson"), "-o", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert code == 0 and "/&lt;b&gt;x" in page and "<b>x" not in page


def test_report_to_stdout(mab: Mab) -> None:
    code, out, _ = mab("report", str(STREAMS / "cold-multi.rawjson"), "-o", "-")
    assert code == 0 and out.startswith("<!doctype html>") and out.rstrip().endswith("</html>")
    assert bars(out)["linux/arm64"] > 0


def history_db(tmp_path: Path) -> Path:
    path = tmp_path / "h.sqlite3"
    with HistoryStore.open(path) as store:
        for i, name in enumerate(("cold-multi", "warm-multi")):
            model = model_of_recording(name, (STREAMS / f"{name}.rawjson").read_bytes())
            record = record_of_replay("app", model, 1_800_000_000.0 + i)
            store.add(record)
    return path


def test_report_of_a_history_build_with_charts(mab: Mab, tmp_path: Path) -> None:
    db = history_db(tmp_path)
    out = tmp_path / "r.html"
    code, _, err = mab("report", "--history", str(db), "-o", str(out))
    assert code == 0, err
    page = out.read_text()
    assert "build #2 of replay:app" in page
    assert bars(page) == {"linux/amd64": 9, "linux/arm64": 9}  # every step has its start
    assert page.count('class="chart"') == 2 and "#1" in page and "#2" in page
    assert page.count('<g class="series') == 4  # two platforms in each chart
    code, _, err = mab("report", "1", "--history", str(db), "-o", str(out), "--last", "0")
    assert code == 0 and "no trend yet" in out.read_text()


def test_a_record_keeps_each_steps_start(tmp_path: Path) -> None:
    model = model_of_recording("c", (STREAMS / "cold-multi.rawjson").read_bytes())
    record = loads(json.dumps(record_of_replay("app", model, 0.0).to_json()).encode())
    starts = [s.start_s for s in record.steps]
    assert all(s is not None and s >= 0 for s in starts) and max(starts) > 1  # type: ignore[operator]


def test_errors_write_nothing(mab: Mab, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "r.html"
    code, _, err = mab("report", str(STREAMS / "fail.rawjson"), "-o", str(missing))
    assert code == EXIT_USAGE and "does not exist" in err and "Traceback" not in err
    code, _, err = mab("report", str(tmp_path / "gone.rawjson"), "-o", str(tmp_path / "r.html"))
    assert code == EXIT_USAGE and "no such file" in err
    (tmp_path / "junk.rawjson").write_text("hello\n")
    code, _, err = mab("report", str(tmp_path / "junk.rawjson"), "-o", str(tmp_path / "r.html"))
    assert code == EXIT_USAGE and "not a recorded build stream" in err
    code, _, err = mab("report", "77", "--history", str(history_db(tmp_path)))
    assert code == EXIT_USAGE and "no build matches '77'" in err
    code, _, err = mab("report", "--history", str(tmp_path / "none.sqlite3"))
    assert code == EXIT_USAGE and "no build history at" in err
    assert not (tmp_path / "none.sqlite3").exists()
    assert not (tmp_path / "r.html").exists() and not missing.parent.exists()


def test_replay_writes_a_trace(mab: Mab, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    code, _, err = mab("replay", str(STREAMS / "cancel.rawjson"), "--no-tui", "--trace", str(out))
    assert code == 130, err
    doc = json.loads(out.read_text())
    assert doc["otherData"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert any(e["name"] == "build canceled" for e in doc["traceEvents"])
    code, _, err = mab("replay", str(STREAMS / "cancel.rawjson"), "--trace", str(tmp_path))
    assert code == EXIT_USAGE and "is a folder" in err
