"""The README's two set-up commands: CI runs the second one as written, both install into a
virtual environment (a stock Debian 12 or Ubuntu 24.04 Python refuses `pip install` outside
one, PEP 668), and what they install is the distribution pyproject.toml names."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from mab.config.distribution import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_there_are_two_commands_and_ci_runs_the_second() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip("\n").splitlines()
    assert ci[-1] == commands[1]


def test_both_commands_install_into_a_virtual_environment() -> None:
    for command in _setup_commands():
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")
        assert "--break-system-packages" not in command


def test_the_readme_names_the_published_distribution() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == DISTRIBUTION
    assert pyproject["project"]["scripts"]["mab"] == "mab.cli:main"
    assert f"pipx install {DISTRIBUTION}" in (ROOT / "README.md").read_text(encoding="utf-8")
