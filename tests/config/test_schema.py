"""The committed JSON Schema is the declaration's, accepts what mab accepts (the README's example,
what `mab init-ci` writes) and refuses what it refuses, checked with check-jsonschema."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from mab import __version__
from mab.config.file import render_config, schema_url
from mab.config.schema import SCHEMA_PATH, schema, schema_text
from tests.config.test_file import ERRORS, RICH
from tests.generators.test_validators import _tool

ROOT = Path(__file__).resolve().parents[2]

# Problems only the parser can see (a YAML key that is not a string never reaches JSON), and
# the s3 section the s3 cache needs: the schema does not express "required when".
PARSER_ONLY = {"a number key", "s3 cache without s3"}


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"### `\.mab\.yml`\n+```yaml\n(.*?)```", text, re.S)
    assert found, "README.md: no ```yaml block under ### `.mab.yml`"
    return found[1]


def test_the_committed_schema_is_the_declarations() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "mab/config/mab.schema.json is stale: run `python -m mab.config.schema`"
    )


def test_the_schema_url_follows_the_projects_metadata() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    owner_repo = project["urls"]["Repository"].removeprefix("https://github.com/")
    expected = (
        f"https://raw.githubusercontent.com/{owner_repo}/v{__version__}/mab/config/mab.schema.json"
    )
    assert schema()["$id"] == schema_url(project["urls"]["Repository"]) == expected
    assert project["version"] == __version__


def test_the_schema_ships_as_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert "mab.schema.json" in package_data["setuptools"]["package-data"]["mab.config"]


def _check(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    argv = [_tool("check-jsonschema"), "--schemafile", str(SCHEMA_PATH), *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.validators
def test_the_schema_accepts_the_readme_and_what_mab_writes(tmp_path: Path) -> None:
    paths = []
    for name, text in {
        "readme": readme_example(),
        "defaults": render_config(type(RICH)(), None),
        "rich": render_config(RICH, None),
    }.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    result = _check(paths)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.validators
def test_the_schema_refuses_what_the_parser_refuses(tmp_path: Path) -> None:
    bad = {name: text for name, (text, _) in ERRORS.items() if name not in PARSER_ONLY}
    bad["newer version"] = "version: 2\n"
    paths = []
    for i, text in enumerate(bad.values()):
        path = tmp_path / f"bad{i}.yml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    result = _check(paths)
    assert result.returncode == 1, result.stdout + result.stderr
    missed = [name for name, p in zip(bad, paths, strict=True) if f"{p}::" not in result.stdout]
    assert not missed, f"check-jsonschema accepted: {missed}\n{result.stdout}"
