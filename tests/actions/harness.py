"""Runs a composite action's steps as a GitHub runner would, on this machine.

What a runner does, and what this does too:
- inputs: the action's defaults, overridden by the caller's `with:` (unknown inputs refused);
- `${{ … }}` in `if:`, `env:` and `with:` resolved (see `expressions`);
- each `run:` step executed with `bash --noprofile --norc -eo pipefail <script>` in the
  workspace, with `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files of its own, and the job's
  `GITHUB_ENV` and `GITHUB_PATH` files applied to the steps after it;
- the first failing step ends the run (the rest are skipped, as without `always()`); the
  action's `outputs:` are resolved at the end.

What it cannot do is run actions that need GitHub itself. A `uses:` step is emulated by
checking that its effect is already there (`EMULATED`): setup-python by finding that Python on
this machine, actions/cache by a local store with the same key semantics (exact key only).
setup-qemu and setup-buildx are not emulated: the local engine must already have the emulators
and a builder that can build every platform, and the action's own check then skips them; the
run fails, saying so, if the action asks for them.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.actions import expressions

ROOT = Path(__file__).resolve().parents[2]
ACTION_DIR = ROOT / "actions" / "build"
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
STEP_TIMEOUT = 1800
_HEREDOC = re.compile(r"^([^=]+?)<<(.+)$")


class HarnessError(AssertionError):
    """The action did something the harness cannot do faithfully here."""


def read_file_commands(text: str) -> dict[str, str]:
    """A `GITHUB_OUTPUT`/`GITHUB_ENV` file: `name=value` lines and `name<<DELIM` blocks."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        heredoc = _HEREDOC.match(line)
        if heredoc and "=" not in heredoc.group(1):
            name, delimiter = heredoc.groups()
            try:
                end = lines.index(delimiter, i)
            except ValueError:
                raise HarnessError(f"{name}: the delimiter {delimiter!r} never closes") from None
            values[name] = "\n".join(lines[i:end])
            i = end + 1
            continue
        if "=" not in line:
            raise HarnessError(f"not a file command: {line!r}")
        name, value = line.split("=", 1)
        values[name] = value
    return values


@dataclass(frozen=True)
class StepRecord:
    id: str
    outcome: str  # success, failure, skipped
    note: str = ""
    exit_code: int | None = None


@dataclass(frozen=True)
class ActionRun:
    exit_code: int  # 0, or the failing step's exit code
    outputs: dict[str, str]
    step_outputs: dict[str, dict[str, str]]
    steps: tuple[StepRecord, ...]
    summary: str  # every step's GITHUB_STEP_SUMMARY, in order
    log: str

    def step(self, step_id: str) -> StepRecord:
        return next(s for s in self.steps if s.id == step_id)


class CacheStore:
    """actions/cache's effect, on a local directory: exact-key restore, save after the job."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _entry(self, key: str) -> Path:
        return self.root / re.sub(r"[^A-Za-z0-9._-]", "_", key)

    def restore(self, key: str, path: Path) -> bool:
        entry = self._entry(key)
        if not entry.is_dir():
            return False
        if path.exists():
            shutil.rmtree(path)
        shutil.copytree(entry, path, symlinks=True)
        return True

    def save(self, key: str, path: Path) -> None:
        entry = self._entry(key)
        if entry.exists() or not path.is_dir():
            return
        shutil.copytree(path, entry, symlinks=True)


@dataclass
class _Job:
    """What a runner keeps across the steps of one job."""

    workspace: Path
    temp: Path
    env: dict[str, str]
    contexts: dict[str, Any]
    cache: CacheStore
    post: list[Callable[[], None]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    counter: int = 0

    def files(self) -> tuple[Path, Path]:
        self.counter += 1
        folder = self.temp / "_runner_file_commands"
        folder.mkdir(parents=True, exist_ok=True)
        output = folder / f"set_output_{self.counter}"
        summary = folder / f"step_summary_{self.counter}"
        output.write_text("", encoding="utf-8")
        summary.write_text("", encoding="utf-8")
        return output, summary


def _setup_python(job: _Job, with_: Mapping[str, str]) -> tuple[dict[str, str], str]:
    wanted = with_.get("python-version", "")
    found = shutil.which(f"python{wanted}") or shutil.which("python3")
    if found is None:
        raise HarnessError(f"setup-python: no python{wanted} on this machine")
    version = subprocess.run(
        [found, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not (version + ".").startswith(wanted + "."):
        raise HarnessError(f"setup-python: wanted {wanted}, this machine has {version}")
    if with_.get("update-environment", "true") != "false":
        raise HarnessError("setup-python: the harness does not emulate update-environment")
    note = f"emulated: Python {version} is already here ({found})"
    return {"python-path": found, "python-version": version}, note


def _cache(job: _Job, with_: Mapping[str, str]) -> tuple[dict[str, str], str]:
    key, paths = with_["key"], [p for p in with_["path"].splitlines() if p.strip()]
    if len(paths) != 1 or with_.get("restore-keys"):
        raise HarnessError("actions/cache: the harness emulates one path and an exact key")
    path = Path(paths[0])
    hit = job.cache.restore(key, path)
    if not hit:
        job.post.append(lambda: job.cache.save(key, path))
    note = f"emulated with a local store: key {key} {'restored' if hit else 'missed'}"
    return {"cache-hit": "true" if hit else "false"}, note


def _needs_github(name: str) -> Callable[[_Job, Mapping[str, str]], tuple[dict[str, str], str]]:
    def refuse(job: _Job, with_: Mapping[str, str]) -> tuple[dict[str, str], str]:
        raise HarnessError(
            f"the action asked for {name}, which needs a GitHub runner; this machine's engine "
            "should already have the emulators and a builder for every platform"
        )

    return refuse


EMULATED: dict[str, Callable[[_Job, Mapping[str, str]], tuple[dict[str, str], str]]] = {
    "actions/setup-python": _setup_python,
    "actions/cache": _cache,
    "docker/setup-qemu-action": _needs_github("docker/setup-qemu-action"),
    "docker/setup-buildx-action": _needs_github("docker/setup-buildx-action"),
}


def checkout(dest: Path, root: Path = ROOT) -> Path:
    """What a runner downloads for `uses: <owner>/<repo>/actions/build@<ref>`: the repository
    at that ref (here: this working tree, copied once, so edits made meanwhile do not leak in).
    Returns the action's directory in it (`github.action_path`)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(root / name, dest / name)
    for name in ("mab", "generators", "tui", "actions"):
        shutil.copytree(root / name, dest / name, ignore=ignore)
    return dest / "actions" / "build"


def active_commands(log: str) -> list[str]:
    """The workflow commands a runner would act on in `log`: lines starting with `::` (after
    leading blanks), except between `::stop-commands::TOKEN` and `::TOKEN::`."""
    active: list[str] = []
    token: str | None = None
    for raw in log.splitlines():
        line = raw.lstrip()
        if token is not None:
            if line == f"::{token}::":
                token = None
            continue
        if line.startswith("::stop-commands::"):
            token = line.removeprefix("::stop-commands::")
        elif line.startswith("::"):
            active.append(line)
    return active


def load_action(action_dir: Path = ACTION_DIR) -> dict[str, Any]:
    with (action_dir / "action.yml").open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict)
    return data


def resolve_inputs(action: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    declared: Mapping[str, Any] = action.get("inputs") or {}
    unknown = set(given) - set(declared)
    if unknown:
        raise HarnessError(f"unknown inputs: {', '.join(sorted(unknown))}")
    values = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = given[name]
        elif spec.get("required") and "default" not in spec:
            raise HarnessError(f"input {name} is required")
        else:
            values[name] = expressions.text_of(spec.get("default", ""))
    return values


def _runner_env(job_env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment minus anything of a real CI job, plus the runner's own."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "RUNNER_", "GITLAB_", "CI_"))
        and k not in ("CI", "MAB_REPORT_DIR")
    }
    return {**base, **job_env}


def _run_step(job: _Job, step: Mapping[str, Any], step_id: str) -> StepRecord:
    contexts = job.contexts
    shell = step.get("shell")
    if shell != "bash":
        raise HarnessError(f"{step_id}: shell {shell!r}; the harness runs bash steps")
    env_file = job.temp / "_runner_file_commands" / "env"
    path_file = job.temp / "_runner_file_commands" / "path"
    added_env = read_file_commands(env_file.read_text(encoding="utf-8"))
    added_path = [p for p in path_file.read_text(encoding="utf-8").splitlines() if p]
    step_env = {
        k: expressions.render(str(v), {**contexts, "env": {**job.env, **added_env}})
        for k, v in (step.get("env") or {}).items()
    }
    output, summary = job.files()
    env = {**_runner_env(job.env), **added_env, **step_env}
    env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"] = str(output), str(summary)
    if added_path:
        env["PATH"] = os.pathsep.join([*reversed(added_path), env.get("PATH", "")])
    script = job.temp / f"_step_{step_id}.sh"
    if "${{" in step["run"]:
        raise HarnessError(f"{step_id}: an expression inside run:")
    script.write_text(step["run"], encoding="utf-8")
    cwd = job.workspace / step.get("working-directory", ".")
    job.log.append(f"##[group]Run {step_id}")
    done = subprocess.run(
        [*BASH, str(script)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    job.log += [done.stdout.rstrip("\n"), "##[endgroup]"]
    values = read_file_commands(output.read_text(encoding="utf-8"))
    contexts["steps"][step_id] = {"outputs": values}
    job.summary.append(summary.read_text(encoding="utf-8"))
    outcome = "success" if done.returncode == 0 else "failure"
    contexts["steps"][step_id]["outcome"] = outcome
    return StepRecord(step_id, outcome, "ran with bash", done.returncode)


def _uses_step(job: _Job, step: Mapping[str, Any], step_id: str) -> StepRecord:
    name = str(step["uses"]).split("@", 1)[0]
    handler = EMULATED.get(name)
    if handler is None:
        raise HarnessError(f"{step_id}: the harness cannot stand in for {name}")
    with_ = {
        k: expressions.render(expressions.text_of(v), {**job.contexts, "env": job.env})
        for k, v in (step.get("with") or {}).items()
    }
    outputs, note = handler(job, with_)
    job.contexts["steps"][step_id] = {"outputs": outputs, "outcome": "success"}
    job.log.append(f"##[group]{step_id}: {note}\n##[endgroup]")
    return StepRecord(step_id, "success", note, 0)


def run_action(
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    temp: Path,
    cache: CacheStore,
    action_dir: Path = ACTION_DIR,
    action_ref: str = "main",
) -> ActionRun:
    action = load_action(action_dir)
    runs = action["runs"]
    if runs.get("using") != "composite":
        raise HarnessError("not a composite action")
    if temp.exists():  # a runner empties its temp directory between jobs
        shutil.rmtree(temp)
    temp.mkdir(parents=True)
    commands = temp / "_runner_file_commands"
    commands.mkdir(exist_ok=True)
    (commands / "env").write_text("", encoding="utf-8")
    (commands / "path").write_text("", encoding="utf-8")
    machine = platform.machine().lower()
    job_env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_ACTION_PATH": str(action_dir),
        "GITHUB_ACTION_REF": action_ref,
        "GITHUB_ENV": str(commands / "env"),
        "GITHUB_PATH": str(commands / "path"),
        "RUNNER_TEMP": str(temp),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "ARM64" if machine in ("aarch64", "arm64") else "X64",
    }
    job = _Job(
        workspace,
        temp,
        job_env,
        {
            "inputs": resolve_inputs(action, inputs),
            "github": {
                "action_path": str(action_dir),
                "action_ref": action_ref,
                "workspace": str(workspace),
            },
            "runner": {"temp": str(temp), "os": "Linux", "arch": job_env["RUNNER_ARCH"]},
            "steps": {},
            "env": job_env,
        },
        cache,
    )
    records: list[StepRecord] = []
    failed: StepRecord | None = None
    for index, step in enumerate(runs["steps"]):
        step_id = str(step.get("id") or f"__{index}")
        if failed is not None:
            records.append(StepRecord(step_id, "skipped", "an earlier step failed"))
            continue
        if not expressions.condition(step.get("if"), job.contexts):
            records.append(StepRecord(step_id, "skipped", f"if: {step.get('if')}"))
            job.contexts["steps"][step_id] = {"outputs": {}, "outcome": "skipped"}
            continue
        record = _uses_step(job, step, step_id) if "uses" in step else _run_step(job, step, step_id)
        records.append(record)
        if record.outcome == "failure":
            failed = record
    if failed is None:
        for save in job.post:
            save()
    outputs = {
        name: expressions.render(str(spec["value"]), job.contexts)
        for name, spec in (action.get("outputs") or {}).items()
    }
    return ActionRun(
        exit_code=(failed.exit_code or 1) if failed else 0,
        outputs=outputs,
        step_outputs={k: v["outputs"] for k, v in job.contexts["steps"].items()},
        steps=tuple(records),
        summary="".join(job.summary),
        log="\n".join(job.log),
    )
