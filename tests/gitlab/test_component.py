"""The CI/CD component `gitlab/templates/mab-build.yml`: generated, valid, and self-consistent.

After an intended change to the generator, rewrite the file with
`MAB_UPDATE_GOLDEN=1 pytest tests/gitlab/test_component.py` and review the diff.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from mab.generators.gitlab.component import DEFAULTS, TEMPLATE_PATH, component_text
from tests.gitlab.cilocal import gitlab_ci_local

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / TEMPLATE_PATH
INPUT = re.compile(r"\$\[\[\s*inputs\.(\w+)\s*\]\]")
# Values to put in place of the inputs for validation: the defaults, plus a name.
SAMPLE = {**DEFAULTS, "name": "api"}


def assert_gitlab_schema(paths: list[str]) -> None:
    """check-jsonschema's GitLab CI schema (the wheel's script beside this Python, or PATH)."""
    tool = Path(sys.executable).with_name("check-jsonschema")
    argv = [str(tool) if tool.exists() else "check-jsonschema", "--builtin-schema"]
    result = subprocess.run(
        [*argv, "vendor.gitlab-ci", *paths], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    spec, jobs = yaml.safe_load_all(TEMPLATE.read_text(encoding="utf-8"))
    return spec, jobs


def interpolate(value: Any, inputs: dict[str, Any]) -> Any:
    """What GitLab does with `$[[ inputs.x ]]`: a whole value keeps the input's type."""
    if isinstance(value, dict):
        return {interpolate(k, inputs): interpolate(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, inputs) for v in value]
    if isinstance(value, str):
        whole = INPUT.fullmatch(value)
        if whole:
            return inputs[whole.group(1)]
        return INPUT.sub(lambda m: str(inputs[m.group(1)]), value)
    return value


def test_committed_template_is_what_the_generator_makes() -> None:
    text = component_text()
    if os.environ.get("MAB_UPDATE_GOLDEN") == "1":
        TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
        TEMPLATE.write_text(text, encoding="utf-8")
    assert TEMPLATE.read_text(encoding="utf-8") == text


def test_spec_header_then_jobs() -> None:
    spec, jobs = documents()
    assert list(spec) == ["spec"]
    inputs = set(spec["spec"]["inputs"])
    assert {"image", "platforms", "strategy", "runner_tags", "cache_repository"} <= inputs
    assert {"context", "dockerfile", "push"} <= inputs
    assert all(k.startswith(("mab-", ".mab-")) for k in jobs)


def test_every_input_used_is_declared_and_every_declared_input_is_used() -> None:
    spec, _ = documents()
    body = TEMPLATE.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    used = set(INPUT.findall(body))
    assert used == set(spec["spec"]["inputs"])


def test_yaml_11_and_12_read_the_same() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert list(yaml.safe_load_all(text)) == list(YAML(typ="safe", pure=True).load_all(text))


def test_interpolated_jobs_build_per_runner_and_merge() -> None:
    _, jobs = documents()
    doc = interpolate(jobs, SAMPLE)
    build = doc["mab-build-api"]
    assert build["parallel"]["matrix"] == [{"MAB_RUNNER_TAG": DEFAULTS["runner_tags"]}]
    assert build["variables"]["MAB_ALL_PLATFORMS"] == "linux/amd64,linux/arm64"
    assert build["script"] == ["mab_pick_platforms", "mab_build"]
    assert build["tags"] == ["$MAB_RUNNER_TAG"]
    assert build["variables"]["MAB_PUSH"] == "true"  # a string, as variables must be
    assert doc["mab-merge-api"]["needs"] == [{"job": "mab-build-api", "artifacts": True}]
    assert doc[".mab-runner-api"]["before_script"][1] == (
        'echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" '
        '--password-stdin "$CI_REGISTRY"'
    )


@pytest.mark.validators
def test_spec_and_interpolated_jobs_pass_the_gitlab_ci_schema(tmp_path: Path) -> None:
    spec, jobs = documents()
    qemu = {**SAMPLE, "name": "qemu", "strategy": "qemu", "runner_tags": ["x"]}
    (tmp_path / "spec.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    paths = [str(tmp_path / "spec.yml")]
    for n, inputs in enumerate((SAMPLE, qemu)):
        path = tmp_path / f"jobs-{n}.yml"
        path.write_text(yaml.safe_dump(interpolate(jobs, inputs)), encoding="utf-8")
        paths.append(str(path))
    assert_gitlab_schema(paths)


# --- gitlab-ci-local (npm), when installed: GitLab's own reading of includes, inputs, extends ---


def gitlab_ci_local_jobs(repo: Path, files: dict[str, str]) -> list[str]:
    """Commit `files` into a fresh repository at `repo`; the job names gitlab-ci-local lists."""
    repo.mkdir(parents=True)
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(repo)]
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "ci"]):
        subprocess.run([*git, *argv], check=True, capture_output=True)
    result = subprocess.run(
        [gitlab_ci_local(), "--list"], cwd=repo, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = result.stdout.splitlines()
    header = next(i for i, row in enumerate(rows) if row.startswith("name "))
    return [re.split(r"\s{2,}", row.strip())[0] for row in rows[header + 1 :] if row.strip()]


@pytest.mark.validators
def test_gitlab_ci_local_reads_the_component_with_inputs(tmp_path: Path) -> None:
    pipeline = """\
include:
  - local: templates/mab-build.yml
    inputs:
      name: api
  - local: templates/mab-build.yml
    inputs:
      name: web
      strategy: qemu
      runner_tags: [saas-linux-small-amd64]
"""
    files = {"templates/mab-build.yml": component_text(), ".gitlab-ci.yml": pipeline}
    assert gitlab_ci_local_jobs(tmp_path / "repo", files) == [
        "mab-build-api: [saas-linux-small-amd64]",
        "mab-build-api: [saas-linux-small-arm64]",
        "mab-merge-api",
        "mab-build-web: [saas-linux-small-amd64]",
        "mab-merge-web",
    ]
