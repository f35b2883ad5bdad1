"""Each fixture (one per ecosystem and rule, shaped like a real project): the findings and the
`--fix` diff are golden; `--dry-run` writes nothing; a second `--fix` changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.golden import assert_golden
from tests.lint.conftest import FIXTURE_NAMES, Run, copy_fixture

GOLDEN = Path(__file__).parent / "golden"

# What each fixture must show (rule ids before the fix), so a golden refresh cannot quietly
# lose a rule.
EXPECTED = {
    "apt": {"MAB101", "MAB104", "MAB105"},
    "bun": {"MAB101"},
    "dockerignore-negation": set(),  # `!.git`: the build reads git metadata on purpose
    "env-relocated": {"MAB101"},
    "generated": {"MAB101"},  # reported, never edited
    "local-deps": {"MAB101", "MAB102"},  # the installs read local paths: MAB102 not moved
    "templated": {"MAB101"},  # reported, never edited
    "xx-cross": {"MAB101", "MAB107"},
    "bundler": {"MAB101"},
    "cargo": {"MAB101"},
    "clean": set(),
    "composer": {"MAB101"},
    "crlf": {"MAB101"},
    "dockerignore-git": {"MAB106"},
    "formatting": {"MAB101", "MAB103"},
    "go": {"MAB101", "MAB107"},
    "go-source-first": {"MAB101", "MAB102", "MAB103"},
    "gradle": {"MAB101"},
    "ignored": set(),  # one ignore by id, one by name
    "maven": {"MAB101"},
    "more-tools": {"MAB101"},  # yarn Berry, pipenv, sbt, dotnet, mix; apk reported
    "no-dockerignore": {"MAB101", "MAB102", "MAB103", "MAB106"},
    "npm": {"MAB101"},
    "npm-user": {"MAB101", "MAB102"},
    "pip": {"MAB101"},
    "pnpm": {"MAB101"},
    "poetry": {"MAB101"},
    "uv": {"MAB101"},
    "yarn": {"MAB101"},
}


def test_every_fixture_has_expectations() -> None:
    assert sorted(EXPECTED) == FIXTURE_NAMES


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture(
    name: str, tmp_path: Path, mab: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = copy_fixture(name, tmp_path)
    monkeypatch.chdir(repo)
    original = (repo / "Dockerfile").read_bytes()

    code, found, err = mab("lint", "--json")
    rules = {f["rule"] for f in json.loads(found)["findings"]}
    assert rules == EXPECTED[name], err
    assert code == (1 if rules else 0)

    code, before, _ = mab("lint")
    code_dry, diff, _ = mab("lint", "--fix", "--dry-run")
    assert (repo / "Dockerfile").read_bytes() == original, "--dry-run wrote"

    code_fix, fixed_out, _ = mab("lint", "--fix")
    assert fixed_out == diff, "--fix and --dry-run disagree"
    after = (repo / "Dockerfile").read_bytes()
    assert code_fix == code_dry
    shown = f"$ mab lint\n{before}\n$ mab lint --fix\n{diff}".replace("\r", "<CR>")
    assert_golden(GOLDEN / f"{name}.txt", shown)

    code_again, again, _ = mab("lint", "--fix")
    assert (repo / "Dockerfile").read_bytes() == after, "a second --fix changed the file"
    assert "+++" not in again
    assert code_again == code_fix
