"""`mab lint` as a user meets it: exit codes, selection (flags and `.mab.yml`), output formats,
and bad input that is reported without touching any file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lint.conftest import Run, copy_fixture
from tests.lint.conftest import mab as mab


def test_clean_exits_0_and_findings_exit_1(tmp_path: Path, mab: Callable[..., Run]) -> None:
    assert mab("lint", str(copy_fixture("clean", tmp_path)))[0] == 0
    code, out, _ = mab("lint", str(copy_fixture("apt", tmp_path)))
    assert code == 1
    assert "MAB105 apt-update-alone" in out


def test_fix_that_leaves_nothing_exits_0(tmp_path: Path, mab: Callable[..., Run]) -> None:
    repo = copy_fixture("npm", tmp_path)
    code, out, err = mab("lint", "--fix", str(repo / "Dockerfile"))
    assert code == 0
    assert out.startswith("--- a/")
    assert "fixed" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--select", "MAB104"], {"MAB104"}),
        (["--select", "add-url-without-checksum,apt-update-alone"], {"MAB104", "MAB105"}),
        (["--ignore", "MAB101,mab104"], {"MAB105"}),
    ],
)
def test_select_and_ignore(
    argv: list[str], expected: set[str], tmp_path: Path, mab: Callable[..., Run]
) -> None:
    repo = copy_fixture("apt", tmp_path)
    code, out, _ = mab("lint", "--json", *argv, str(repo))
    assert {f["rule"] for f in json.loads(out)["findings"]} == expected
    assert code == 1


def test_config_section_selects_and_flags_override(tmp_path: Path, mab: Callable[..., Run]) -> None:
    repo = copy_fixture("apt", tmp_path)
    (repo / ".mab.yml").write_text("version: 1\nlint:\n  ignore: [MAB104, apt-update-alone]\n")
    _, out, _ = mab("lint", "--json", str(repo))
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"MAB101"}
    _, out, _ = mab("lint", "--json", "--ignore", "MAB101", str(repo))
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"MAB104", "MAB105"}
    # init-ci rewrites .mab.yml and keeps the section (it is declared with the others)
    (repo / ".github").mkdir()
    assert mab("init-ci", str(repo), "--image", "ghcr.io/acme/app")[0] == 0
    assert "ignore: [MAB104, apt-update-alone]" in (repo / ".mab.yml").read_text()
    _, out, _ = mab("lint", "--json", str(repo))
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"MAB101"}


@pytest.mark.parametrize(
    ("argv", "config", "message"),
    [
        (["--select", "MAB999"], None, "--select: unknown rule 'MAB999'"),
        (["--json", "--sarif"], None, "--json and --sarif cannot be combined"),
        ([], "lint:\n  select: [nope]\n", ".mab.yml: lint.select: unknown rule 'nope'"),
        ([], "lint:\n  colour: red\n", ".mab.yml:2: lint.colour: unknown setting"),
        ([], "lint: [MAB101]\n", ".mab.yml:1: lint: expected a mapping, got a list"),
        ([], "lint: {select: [\n", ".mab.yml"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
    config: str | None,
    message: str,
    tmp_path: Path,
    mab: Callable[..., Run],
) -> None:
    repo = copy_fixture("apt", tmp_path)
    if config is not None:
        (repo / ".mab.yml").write_text(config)
    before = (repo / "Dockerfile").read_bytes()
    code, _out, err = mab("lint", "--fix", *argv, str(repo))
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert (repo / "Dockerfile").read_bytes() == before


def test_missing_path_and_unreadable_dockerfile_exit_2(
    tmp_path: Path, mab: Callable[..., Run]
) -> None:
    code, _, err = mab("lint", str(tmp_path / "nope"))
    assert (code, "no such file or directory" in err) == (2, True)
    bad = tmp_path / "Dockerfile"
    bad.write_bytes(b"FROM busybox\nRUN echo \xff\xfe\n")
    code, _, err = mab("lint", "--fix", str(bad))
    assert code == 2
    assert "not UTF-8" in err
    assert bad.read_bytes() == b"FROM busybox\nRUN echo \xff\xfe\n"


def test_no_dockerfile_in_directory_exits_2(tmp_path: Path, mab: Callable[..., Run]) -> None:
    code, _, err = mab("lint", str(tmp_path))
    assert code == 2
    assert "no Dockerfile found" in err


def test_json_and_sarif_keep_stdout_a_document(tmp_path: Path, mab: Callable[..., Run]) -> None:
    repo = copy_fixture("go", tmp_path)
    code, out, err = mab("lint", "--fix", "--dry-run", "--sarif", str(repo))
    assert code == 0  # everything in go/ is fixable
    assert json.loads(out)["version"] == "2.1.0"
    assert err.startswith("--- a/")  # the diff goes to stderr beside a document
    code, out, _ = mab("lint", "--json", str(repo))
    data = json.loads(out)
    assert code == 1
    assert {f["rule"] for f in data["findings"]} == {"MAB101", "MAB107"}
    assert all(f["fixable"] for f in data["findings"])


QA_FIXTURES = Path(__file__).parent.parent / "fixtures" / "qa"


def _immutable(path: Path) -> bool:
    """`chattr +i`: as root, permission bits are ignored, so a file mab cannot write is made
    immutable instead (False where the filesystem does not support it)."""
    import subprocess

    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


def test_fix_writes_every_dockerfile_or_none(tmp_path: Path, mab: Callable[..., Run]) -> None:
    """One of two fixable Dockerfiles cannot be written (made immutable): a clear error and
    exit 3, no traceback, and the other one is not fixed alone (the set stays as it was)."""
    import shutil
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(QA_FIXTURES / "lint-two-services", repo)
    api, web = repo / "api" / "Dockerfile", repo / "web" / "Dockerfile"
    before = {p: p.read_bytes() for p in (api, web)}
    if not _immutable(web):
        pytest.skip("chattr +i is not supported here")
    try:
        code, _, err = mab("lint", "--fix", str(api), str(web))
    finally:
        subprocess.run(["chattr", "-i", str(web)], check=True)
    assert code == 3
    assert f"cannot write {web}: the file is read-only" in err
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in (api, web)} == before
    assert sorted(p.name for p in (repo / "web").iterdir()) == ["Dockerfile"]  # no temp file


def test_yarn_berry_is_reported_not_fixed(tmp_path: Path, mab: Callable[..., Run]) -> None:
    """Yarn Berry keeps its cache where .yarnrc.yml says, not in yarn v1's folder."""
    repo = copy_fixture("yarn", tmp_path)
    (repo / ".yarnrc.yml").write_text("nodeLinker: node-modules\n")
    code, out, _ = mab("lint", "--json", str(repo))
    [finding] = json.loads(out)["findings"]
    assert (code, finding["rule"], finding["fixable"]) == (1, "MAB101", False)
    assert "Berry" in finding["message"]
