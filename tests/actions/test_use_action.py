"""`mab init-ci --github --use-action`: a workflow around mab's composite action. Golden files,
the rules it keeps, and the validators the expanded workflows pass (`-m validators`).

Update the golden files after an intended change with
`MAB_UPDATE_GOLDEN=1 pytest tests/actions/test_use_action.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mab import __version__
from mab.cli import cli
from mab.config import distribution
from mab.config.distribution import DISTRIBUTION, REPOSITORY_URL, default_action
from mab.errors import UserError
from mab.files.yamlio import dump_roundtrip
from mab.generators import github
from tests.actions.harness import load_action
from tests.generators.github_cases import CASES, EMULATED, Case, _settings
from tests.generators.test_validators import _tool
from tests.golden import assert_golden

ACTION_USES = f"mab-multiarch/mab/actions/build@v{__version__}"
_BY_NAME = {c.name: c for c in CASES}
ACTION_CASES = (
    _BY_NAME["node"],
    _BY_NAME["monorepo-qemu-registry"],
    Case("emulated-tool", None, _settings(image="acme/tool"), EMULATED),
)
IDS = [c.name for c in ACTION_CASES]

GOLDEN = Path(__file__).resolve().parent / "golden"


def render(case: Case, tmp: Path) -> str:
    return dump_roundtrip(github.workflow(case.load(tmp), case.settings, use_action=True))


@pytest.mark.parametrize("case", ACTION_CASES, ids=IDS)
def test_golden(case: Case, tmp_path: Path) -> None:
    assert_golden(GOLDEN / f"use-action/{case.name}.yml", render(case, tmp_path))


def _action_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for job in doc["jobs"].values()
        for step in job["steps"]
        if "/actions/build@" in str(step.get("uses", ""))
    ]


@pytest.mark.parametrize("case", ACTION_CASES, ids=IDS)
def test_every_with_is_an_input_of_the_action(case: Case, tmp_path: Path) -> None:
    declared = set(load_action()["inputs"])
    steps = _action_steps(yaml.safe_load(render(case, tmp_path)))
    assert steps, "no step uses the action"
    for step in steps:
        assert step["uses"] == ACTION_USES
        assert set(step["with"]) <= declared
        assert step["id"] == "mab-build"


@pytest.mark.parametrize("case", ACTION_CASES, ids=IDS)
def test_the_html_report_is_uploaded_even_after_a_failed_build(case: Case, tmp_path: Path) -> None:
    """The action's `report-path` output (`mab build --ci` writes the report) goes up as an
    artifact with the pinned upload-artifact, named per image (and platform), unless canceled."""
    from mab.generators.github.pins import PINS

    jobs = yaml.safe_load(render(case, tmp_path))["jobs"]
    pin = PINS["actions/upload-artifact"]
    for job in jobs.values():
        steps = {s["id"]: s for s in job["steps"]}
        if "mab-build" not in steps:
            continue
        step = steps["mab-upload-report"]
        assert step["uses"].split("@")[1] in (pin.sha, pin.major)
        assert step["with"]["path"] == "${{ steps.mab-build.outputs.report-path }}"
        assert step["with"]["name"].startswith("mab-report@${{ matrix.image.name }}")
        assert "!cancelled()" in step["if"] and "success()" not in step["if"]
    assert "report-path" in load_action()["outputs"]


def test_native_jobs_keep_the_digest_and_merge(tmp_path: Path) -> None:
    doc = yaml.safe_load(render(_BY_NAME["node"], tmp_path))
    assert set(doc["jobs"]) == {"build", "merge", "sign", "verify"}
    ids = [s["id"] for s in doc["jobs"]["build"]["steps"]]
    assert ids == [
        "mab-checkout",
        "mab-login",
        "mab-build",
        "mab-upload-report",
        "mab-digest",
        "mab-upload-digest",
    ]


@pytest.mark.parametrize("cache", ["gha", "local", "s3"])
def test_caches_other_than_registry_are_refused(cache: str, tmp_path: Path) -> None:
    project = _BY_NAME["node"].load(tmp_path)
    with pytest.raises(UserError, match="--use-action supports"):
        github.workflow(project, _settings(cache=cache), use_action=True)


def test_init_ci_use_action_writes_it(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["init-ci", str(tmp_path), "--github", "--use-action", "--image", "ghcr.io/a/b"]
    )
    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load((tmp_path / ".github/workflows/mab.yml").read_text("utf-8"))
    assert [s["uses"] for s in _action_steps(workflow)] == [ACTION_USES]
    config = yaml.safe_load((tmp_path / ".mab.yml").read_text("utf-8"))
    assert config["github"]["use-action"] is True


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("use-action") / ".github" / "workflows"
    out.mkdir(parents=True)
    paths = []
    for case in ACTION_CASES:
        path = out / f"{case.name}.yml"
        path.write_text(render(case, tmp_path_factory.mktemp(case.name)), encoding="utf-8")
        paths.append(path)
    return paths


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.validators
def test_workflow_schema(workflows: list[Path]) -> None:
    argv = [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
    result = _run([*argv, *map(str, workflows)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.validators
def test_actionlint(workflows: list[Path]) -> None:
    result = _run([_tool("actionlint"), "-no-color", *map(str, workflows)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.validators
def test_zizmor(workflows: list[Path]) -> None:
    argv = [_tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "json"]
    result = _run([*argv, *map(str, workflows)])
    assert result.returncode in (0, 14), result.stderr
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"{f['ident']}: {f['desc']}" for f in findings)


@pytest.mark.validators
def test_the_action_itself_passes_its_schema_and_zizmor() -> None:
    action = Path(__file__).resolve().parents[2] / "actions" / "build" / "action.yml"
    schema = [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions"]
    result = _run([*schema, str(action)])
    assert result.returncode == 0, result.stdout + result.stderr
    argv = [_tool("zizmor"), "--offline", "--persona", "pedantic", "--format", "json"]
    result = _run([*argv, str(action)])
    assert result.returncode in (0, 14), result.stderr
    assert json.loads(result.stdout or "[]") == []


@pytest.mark.validators
def test_the_action_scripts_pass_shellcheck(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        print("skipping: shellcheck is not installed")
        pytest.skip("shellcheck is not installed")
    for step in load_action()["runs"]["steps"]:
        if "run" in step:
            script = tmp_path / f"{step['id']}.sh"
            script.write_text("set -eo pipefail\n" + step["run"], encoding="utf-8")
            result = _run([shellcheck, "--shell=bash", str(script)])
            assert result.returncode == 0, f"{step['id']}:\n{result.stdout}"


def test_the_action_comes_from_mabs_metadata_and_says_so(tmp_path: Path) -> None:
    # The Repository URL of pyproject.toml is what the installed package's metadata carries,
    # and what mab falls back to when it is not installed.
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == DISTRIBUTION
    assert pyproject["project"]["urls"]["Repository"] == REPOSITORY_URL
    text = render(_BY_NAME["node"], tmp_path)
    line = next(line for line in text.splitlines() if "/actions/build@" in line)
    assert line.strip().startswith(f"uses: {ACTION_USES}  # zizmor: ignore[unpinned-uses]")
    assert "mab's own action, from " in line and REPOSITORY_URL in line
    assert default_action().uses == ACTION_USES


def test_the_action_can_be_named_in_settings_or_by_flag(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n", encoding="utf-8")
    argv = ["init-ci", str(tmp_path), "--github", "--use-action", "--image", "ghcr.io/a/b"]
    fork = "acme/mab-fork/actions/build@v9.9.9"
    result = CliRunner().invoke(cli, [*argv, "--action", fork])
    assert result.exit_code == 0, result.output
    text = (tmp_path / ".github/workflows/mab.yml").read_text("utf-8")
    assert f"uses: {fork}  # zizmor: ignore[unpinned-uses] mab's own action, from --action" in text
    config = yaml.safe_load((tmp_path / ".mab.yml").read_text("utf-8"))
    assert config["github"]["action"] == fork
    result = CliRunner().invoke(cli, ["init-ci", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / ".github/workflows/mab.yml").read_text("utf-8")
    assert "from `github: action:` in .mab.yml" in text
    result = CliRunner().invoke(cli, [*argv, "--action", "not a reference"])
    assert isinstance(result.exception, UserError)  # main() turns it into exit code 2
    assert "is not an action reference" in result.exception.message


def test_a_fork_with_its_own_repository_url_refers_to_its_own_action(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The metadata a fork that changed `[project.urls]` installs, first on sys.path (installing
    # a second distribution here would disturb the shared environment).
    meta = tmp_path / f"{DISTRIBUTION.replace('-', '_')}-9.9.dist-info" / "METADATA"
    meta.parent.mkdir()
    meta.write_text(
        f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: 9.9\n"
        "Project-URL: Repository, https://github.com/acme/mab-fork\n\nThe description.\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    action = distribution.default_action()
    assert action.uses == f"acme/mab-fork/actions/build@v{__version__}"
    assert "https://github.com/acme/mab-fork" in action.origin
