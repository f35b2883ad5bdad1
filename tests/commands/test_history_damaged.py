"""A damaged, read-only or full history is one error path with the README's exit codes: a
damaged file (8 KiB overwritten mid-file) is exit 2 with the hint to move it away, from
`history`, `why`, `rm`, `prune` and a metrics scrape; an immutable file is exit 3 ("make it
writable") from `rm` and `prune`; a full disk is exit 3 ("free disk space"), never the hint to
move an intact file away. Never a traceback, and the file is left as it was."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from mab.history.store import HistoryStore
from mab.metrics.history import HistoryCollector, StoreSource
from tests.commands.conftest import Mab
from tests.commands.test_init_ci_safe_writes import immutable, mounted
from tests.history.test_store import record

QA = Path(__file__).resolve().parents[1] / "fixtures" / "qa"


def filled(path: Path, builds: int = 300) -> Path:
    with HistoryStore.open(path) as store:
        store.add_many([(record(f"u{i:04d}", float(i)), None) for i in range(builds)])
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def damage(path: Path) -> None:
    """8 KiB of noise every 24 KiB past the header: whatever a command reads, it meets some."""
    size = path.stat().st_size
    assert size > 64 * 1024
    noise = random.Random(7)
    with path.open("r+b") as fh:
        for offset in range(8192, size - 8192, 24576):
            fh.seek(offset)
            fh.write(noise.randbytes(8192))


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    path = filled(tmp_path / "h.sqlite3")
    damage(path)
    return path


@pytest.mark.parametrize(
    "args",
    [("history",), ("why",), ("history", "rm", "150"), ("history", "prune", "--keep", "1")],
    ids=["list", "why", "rm", "prune"],
)
def test_a_damaged_history_is_exit_2_with_the_hint(
    damaged: Path, args: tuple[str, ...], mab: Mab
) -> None:
    before = damaged.read_bytes()
    code, _, err = mab(*args, "--history", str(damaged))
    assert code == 2, err
    assert "the build history is damaged" in err
    assert "hint: move the file away" in err
    assert "Traceback" not in err
    assert damaged.read_bytes() == before


def test_a_metrics_scrape_of_a_damaged_history_says_so_and_serves_nothing(
    damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert list(HistoryCollector(StoreSource(damaged)).collect()) == []
    assert "the build history is damaged" in capsys.readouterr().err


@pytest.mark.parametrize("args", [("history", "rm", "1"), ("history", "prune", "--keep", "1")])
def test_an_immutable_history_is_exit_3(tmp_path: Path, args: tuple[str, ...], mab: Mab) -> None:
    db = filled(tmp_path / "h.sqlite3", builds=3)
    before = db.read_bytes()
    with immutable(db):
        code, _, err = mab(*args, "--history", str(db))
    assert code == 3, err
    assert "hint: make it writable" in err and "Traceback" not in err
    assert db.read_bytes() == before


def test_a_full_disk_is_exit_3_and_the_file_is_not_called_damaged(tmp_path: Path, mab: Mab) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=2m", "tmpfs", target=disk):
        db = filled(disk / "h.sqlite3", builds=3)
        with (disk / "filler").open("wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass  # the disk is full
        codes = []
        for i in range(40):  # until the journal or the file cannot grow
            recording = tmp_path / f"r{i}.rawjson"
            shutil.copyfile(QA / "single-raw.rawjson", recording)
            code, _, err = mab("history", "import", str(recording), "--history", str(db))
            codes.append(code)
            if code:
                break
        assert codes[-1] == 3, err
        assert "free disk space" in err and "damaged" not in err and "move the file" not in err
        assert "Traceback" not in err
        subprocess.run(["sync"], check=False)
