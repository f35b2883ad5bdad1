from __future__ import annotations

import pytest

from mab.detection.lockfiles import CACHE_DIRS, ecosystem_for, pattern_matches_lockfile
from mab.detection.project import ECOSYSTEMS


@pytest.mark.parametrize(
    ("path", "ecosystem"),
    [
        ("package-lock.json", "npm"),
        ("web/npm-shrinkwrap.json", "npm"),
        ("yarn.lock", "yarn"),
        ("pnpm-lock.yaml", "pnpm"),
        ("bun.lock", "bun"),
        ("bun.lockb", "bun"),
        ("requirements.txt", "pip"),
        ("services/worker/requirements-dev.txt", "pip"),
        ("requirements/base.txt", "pip"),
        ("api/requirements/prod.txt", "pip"),
        ("constraints.txt", "pip"),
        ("poetry.lock", "poetry"),
        ("uv.lock", "uv"),
        ("Pipfile.lock", "pipenv"),
        ("go.sum", "go"),
        ("Cargo.lock", "cargo"),
        ("pom.xml", "maven"),
        ("build.gradle", "gradle"),
        ("app/build.gradle.kts", "gradle"),
        ("settings.gradle", "gradle"),
        ("gradle/wrapper/gradle-wrapper.properties", "gradle"),
        ("gradle.lockfile", "gradle"),
        ("Gemfile.lock", "bundler"),
        ("composer.lock", "composer"),
    ],
)
def test_lockfile_names_map_to_their_ecosystem(path: str, ecosystem: str) -> None:
    assert ecosystem_for(path) == ecosystem


@pytest.mark.parametrize(
    "path",
    [
        "package.json",
        "go.mod",
        "Cargo.toml",
        "pyproject.toml",
        "notes.txt",
        "docs/readme.txt",
        "Gemfile",
        "yarn.lock.bak",
        "Pipfile",
    ],
)
def test_manifests_and_other_files_are_not_lockfiles(path: str) -> None:
    assert ecosystem_for(path) is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("package*.json", True),
        ("./package-lock.json", True),
        ("requirements*.txt", True),
        ("*.lock", True),
        ("package.json", False),
        ("src/*.ts", False),
        ("go.mod", False),
    ],
)
def test_copy_sources_that_bring_in_a_lockfile(source: str, expected: bool) -> None:
    assert pattern_matches_lockfile(source) is expected


def test_every_ecosystem_has_cache_directories() -> None:
    assert set(CACHE_DIRS) == set(ECOSYSTEMS)
    for ecosystem, dirs in CACHE_DIRS.items():
        assert dirs.runner or dirs.command, ecosystem
        assert dirs.mounts, ecosystem
    assert CACHE_DIRS["npm"].mounts == ("/root/.npm",)
    assert CACHE_DIRS["go"].runner == ("~/go/pkg/mod", "~/.cache/go-build")


def test_cache_table_cannot_be_changed_by_a_caller() -> None:
    with pytest.raises(TypeError):
        CACHE_DIRS["npm"] = CACHE_DIRS["pip"]  # type: ignore[index]
