"""mab.metrics.textfile: checked before the build, written atomically after it."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mab.errors import EnvironmentNotReady, UserError
from mab.metrics import textfile
from mab.metrics.build import BuildFacts, registry_for
from tests.actions.cases import CASES


def test_written_whole_and_parseable(tmp_path: Path) -> None:
    target = tmp_path / "mab.prom"
    target.write_text("old content\n")
    textfile.write(target, registry_for(CASES["success"](), BuildFacts(image="a/b")))
    names = {f.name for f in text_string_to_metric_families(target.read_text())}
    assert {"mab_steps", "mab_cache_hit_ratio", "mab_build_succeeded"} <= names
    assert [p.name for p in tmp_path.iterdir()] == ["mab.prom"]  # no temporary file left behind


def test_a_missing_folder_is_refused_before_the_build(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        textfile.check_target(tmp_path / "nope" / "mab.prom")


def test_a_file_where_the_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="does not exist"):
        textfile.check_target(tmp_path / "file" / "mab.prom")


def test_a_folder_as_the_target(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a folder"):
        textfile.check_target(tmp_path)


def test_a_write_the_machine_refuses_names_the_file() -> None:
    """/proc takes no new files, even from root: a real OS error, not a simulated one."""
    target = Path("/proc/mab-metrics.prom")
    with pytest.raises(EnvironmentNotReady, match=r"mab-metrics\.prom"):
        textfile.write(target, registry_for(CASES["success"]()))
