"""The GitLab jobs' shell: the resource files, what generated files paste of them, the package.

- shellcheck (the Debian package; `.ci/run` installs it) passes on every `resources/*.sh` and
  on every generated job's whole script (before_script + script, as GitLab runs it);
- no quoted argument of any generated script spans a line (a `tr '\\n' ,` once did, with a
  literal newline, in every generated file);
- a wheel of the project (a non-editable `pip install .`) carries the resource files.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mab.generators.gitlab.component import component_text
from mab.generators.gitlab.shell import RESOURCES, resource_text
from tests.generators.test_gitlab import CASES
from tests.gitlab.test_component import SAMPLE, interpolate
from tests.gitlab.wheel import build_wheel

ROOT = Path(__file__).resolve().parents[2]
RESOURCE_DIR = ROOT / "generators/gitlab/resources"


def shellcheck() -> str:
    found = shutil.which("shellcheck")
    if found is None:
        print("skipping: shellcheck is not installed (apt-get install shellcheck)")
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    return found


def generated_files(tmp: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, document) of every golden case and of the component with its inputs filled."""
    for case in CASES:
        if not case.component:
            yield case.name, yaml.safe_load(case.render(tmp / case.name))
    _, jobs = yaml.safe_load_all(component_text())
    yield "component", interpolate(jobs, SAMPLE)


def job_scripts(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(job, the shell GitLab runs for it: before_script and script in one shell)."""
    for name, job in doc.items():
        if name.startswith(".") or not isinstance(job, dict) or "extends" not in job:
            continue
        template = doc[job["extends"]]
        yield name, "\n".join([*template["before_script"], *job["script"]]) + "\n"
        if "after_script" in template:
            yield f"{name} (after_script)", "\n".join(template["after_script"]) + "\n"


def quoted_newlines(script: str) -> list[int]:
    """Line numbers where a single- or double-quoted word goes on over a line end (POSIX
    quoting: backslash escapes outside single quotes, `#` starts a comment at a word's start)."""
    found, quote, line, i = [], "", 1, 0
    while i < len(script):
        c = script[i]
        if c == "\n":
            if quote:
                found.append(line)
            line += 1
        elif quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            i += 1
            line += script[i : i + 1] == "\n"
        elif quote == '"':
            quote = "" if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or script[i - 1] in " \t\n;(|&"):
            while i + 1 < len(script) and script[i + 1] != "\n":
                i += 1
        i += 1
    return found


def test_the_quote_check_finds_a_newline_inside_quotes() -> None:
    assert quoted_newlines("a=$(tr '\n' ,)\n") == [1]  # what the generator once wrote
    assert quoted_newlines('echo "two\nlines"\n') == [1]
    assert quoted_newlines("tr '\\n' , # it's fine\necho \"a\" \\\n  'b'\n") == []


@pytest.mark.parametrize("name", RESOURCES)
@pytest.mark.parametrize("shell", ["sh", "dash", "bash"])  # busybox sh; Debian's sh; shell runners
def test_every_resource_passes_shellcheck(name: str, shell: str) -> None:
    result = subprocess.run(
        [shellcheck(), f"--shell={shell}", str(RESOURCE_DIR / name)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_generated_job_script_passes_shellcheck(tmp_path: Path) -> None:
    tool = shellcheck()
    paths = []
    for name, doc in generated_files(tmp_path):
        for job, script in job_scripts(doc):
            path = tmp_path / "scripts" / f"{name}-{job.replace(' ', '_')}.sh"
            path.parent.mkdir(exist_ok=True)
            path.write_text(script, encoding="utf-8")
            paths.append(str(path))
    assert len(paths) > 20
    result = subprocess.run([tool, "--shell=sh", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_generated_script_has_a_newline_inside_quotes(tmp_path: Path) -> None:
    checked = 0
    for name, doc in generated_files(tmp_path):
        for job, script in job_scripts(doc):
            assert quoted_newlines(script) == [], (name, job)
            checked += 1
    assert checked > 20


def test_resources_read_from_the_package_are_the_files() -> None:
    for name in RESOURCES:
        assert resource_text(name) == (RESOURCE_DIR / name).read_text(encoding="utf-8")


def test_a_wheel_of_the_project_carries_the_resources(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    for name in RESOURCES:
        assert f"mab/generators/gitlab/resources/{name}" in names
