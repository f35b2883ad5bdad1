"""What each quick command imports: `mab --version`, `--help`, `lint FILE`, `init-ci --check` and
`replay --json` run in a fresh interpreter, and the modules it loaded are read back. A path that
does not show a TUI, speak HTTP, export metrics or drive docker must not import the libraries
that do (each costs tens of milliseconds on every pre-commit hook and every pipe)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("textual", "rich", "httpx", "prometheus_client", "python_on_whales")

_PROBE = """
import json, sys
out = sys.argv.pop(1)
sys.argv[0] = "mab"
from mab.cli import main
try:
    main()
except SystemExit:
    pass
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
"""


def imported(tmp_path: Path, *argv: str, cwd: Path = ROOT) -> set[str]:
    """The top-level and mab modules loaded by `mab ARGV...` run in its own interpreter."""
    out = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), *argv],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    modules: list[str] = json.loads(out.read_text())
    return {m for m in modules if m.startswith("mab.")} | {m.split(".")[0] for m in modules}


def _dockerfile(tmp_path: Path) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM localhost:5000/base/busybox:1\nCOPY . /app\nRUN ./build.sh\n")
    return path


PATHS = {
    "--version": lambda tmp: ["--version"],
    "--help": lambda tmp: ["--help"],
    "lint FILE": lambda tmp: ["lint", str(_dockerfile(tmp))],
    "init-ci --check": lambda tmp: ["init-ci", "--check", str(ROOT / "tests/e2e/project")],
    "replay --json": lambda tmp: [
        "replay",
        "--json",
        str(ROOT / "tests/fixtures/streams/fail.rawjson"),
    ],
}


@pytest.mark.parametrize("path", PATHS)
def test_quick_paths_import_no_ui_http_metrics_or_docker_library(path: str, tmp_path: Path) -> None:
    modules = imported(tmp_path, *PATHS[path](tmp_path))
    assert "mab.cli" in modules  # the probe ran the command
    assert sorted(modules.intersection(HEAVY)) == []


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_load_no_command(flag: str, tmp_path: Path) -> None:
    modules = imported(tmp_path, flag)
    assert sorted(m for m in modules if m.startswith(("mab.commands", "mab.progress"))) == []


def test_linting_one_file_without_settings_reads_no_yaml(tmp_path: Path) -> None:
    """A `.mab.yml` is parsed only where there is one; one Dockerfile needs no detection."""
    modules = imported(tmp_path, "lint", str(_dockerfile(tmp_path)), cwd=tmp_path)
    assert sorted(modules.intersection({"yaml", "ruamel", "mab.detection.detect"})) == []


def test_linting_reads_the_settings_where_there_are_some(tmp_path: Path) -> None:
    (tmp_path / ".mab.yml").write_text("version: 1\nlint:\n  ignore: [MAB101]\n")
    modules = imported(tmp_path, "lint", str(tmp_path), cwd=tmp_path)
    assert "yaml" in modules  # the check above is not vacuous: this path does read YAML


def test_every_registered_command_loads_and_is_named_as_registered() -> None:
    import click

    from mab.cli import COMMANDS, cli

    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert isinstance(command, click.Command)
        assert command.name == name
