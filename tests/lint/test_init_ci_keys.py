"""The loop the linter closes: init-ci says `mab lint --fix` where a cache mount is missing;
after the fix, a re-run keys every detected lockfile's cache on it, and `--check` passes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mab.detection.detect import detect
from tests.lint.conftest import Run, copy_fixture

WORKFLOW = ".github/workflows/mab.yml"
# Fixtures whose lockfiles init-ci detects (the others have none, or only the rule under test).
ECOSYSTEM_FIXTURES = [
    "bundler", "cargo", "composer", "crlf", "go", "go-source-first", "gradle", "maven", "npm",
    "npm-user", "pip", "pnpm", "poetry", "uv", "yarn",
]  # fmt: skip


def cache_keys(workflow: Any) -> list[str]:
    """What keys the workflow's dependency caches: the `key:` of each actions/cache step, and
    the key files the build job's matrix lists per image (`deps`, `builds`)."""
    keys = []
    for job in (workflow.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            uses = str(step.get("uses", ""))
            if uses.startswith(("actions/cache", "actions/cache/restore")):
                keys.append(str((step.get("with") or {}).get("key", "")))
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        for image in matrix.get("image") or []:
            for kind in ("deps", "builds"):
                keys += [f"'{path}'" for path in str(image.get(kind) or "").splitlines()]
    return keys


def unkeyed_lockfiles(repo: Path) -> list[str]:
    """Detected lockfiles that no cache key hashes."""
    workflow = yaml.safe_load((repo / WORKFLOW).read_text(encoding="utf-8"))
    keys = "\n".join(cache_keys(workflow))
    return [lf.path for lf in detect(repo).lockfiles if f"'{lf.path}'" not in keys]


@pytest.mark.parametrize("name", ECOSYSTEM_FIXTURES)
def test_after_lint_fix_every_lockfile_is_in_a_cache_key(
    name: str, tmp_path: Path, mab: Callable[..., Run]
) -> None:
    repo = copy_fixture(name, tmp_path)
    (repo / ".github").mkdir()
    code, _, err = mab("init-ci", str(repo), "--image", "ghcr.io/acme/app")
    assert code == 0, err
    text = (repo / WORKFLOW).read_text(encoding="utf-8")
    assert "No dependency cache for" in text
    assert "`mab lint --fix` adds it" in text
    assert unkeyed_lockfiles(repo)

    code, _, err = mab("lint", "--fix", str(repo))
    assert code in (0, 1), err
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    assert unkeyed_lockfiles(repo) == []
    assert "No dependency cache for" not in (repo / WORKFLOW).read_text(encoding="utf-8")
    code, _, err = mab("init-ci", str(repo), "--check")
    assert code == 0, err
