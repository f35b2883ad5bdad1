"""The images a repository's maintainers build, read from their own files — independently of
mab's detection (no import from `mab`), so the corpus scorecard checks mab against something
it did not compute itself.

Sources, each image found with the file:line it came from:
- GitHub workflows: `docker/build-push-action` (`file`, `context`, `target`, with `matrix.*`
  and `env.*` filled in from the job), `docker/bake-action` (its files and targets, resolved by
  `docker buildx bake --print`), and `docker build` / `docker buildx build` / `podman build`
  in `run:` scripts;
- `.gitlab-ci.yml`: the same commands in job scripts;
- bake files at the root (`docker-bake.hcl` and friends), resolved by `docker buildx bake
  --print`, which resolves them exactly as bake does;
- build scripts: Makefile, justfile, Taskfile, package.json, `*.sh` (`docker build -f X CTX`);
- goreleaser's `dockers:` (built by goreleaser from its own dist folder: marked pre-build).

What comes out is evidence to confirm by hand, not the truth: the corpus file records the truth.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML

EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
VALUED = {
    "-t", "--tag", "--build-arg", "--platform", "--label", "--cache-from", "--cache-to",
    "-o", "--output", "--secret", "--ssh", "--progress", "--build-context", "--iidfile",
    "--metadata-file", "--network", "--annotation", "--attest", "--provenance", "--sbom",
    "--builder", "--allow", "--shm-size", "--ulimit", "--add-host", "--call", "--isolation",
    "--cgroup-parent", "-m", "--memory", "--cpu-shares", "--squash-all", "--os", "--arch",
    "--format", "--layers", "--jobs", "--security-opt", "--from", "--userns",
}  # fmt: skip
BAKE_FILES = (
    "docker-bake.json", "docker-bake.override.json", "docker-bake.hcl",
    "docker-bake.override.hcl",
)  # fmt: skip
SCRIPT_NAMES = ("Makefile", "makefile", "GNUmakefile", "justfile", "Justfile", "Taskfile.yml")
SKIP_DIRS = {".git", "node_modules", "vendor", "third_party", ".venv"}


@dataclass(frozen=True)
class Found:
    dockerfile: str
    context: str
    target: str
    source: str  # file:line
    how: str  # workflow, bake, script, gitlab, goreleaser
    push: bool  # the source publishes it (as far as the file says)


def norm(path: str) -> str:
    """A repository-relative path, `.` for the root."""
    text = path.strip().strip("'\"")
    if text in ("", ".", "./"):
        return "."
    text = text.removeprefix("./")
    parts: list[str] = []
    for part in PurePosixPath(text).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) or "."


def join(base: str, path: str) -> str:
    return norm(path) if base == "." else norm(f"{base}/{path}")


def _yaml(path: Path) -> Any:
    try:
        return YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except Exception:
        return None


def _line(node: Any, key: str | int | None = None) -> int:
    try:
        if key is None:
            return int(node.lc.line) + 1
        return int(node.lc.key(key)[0]) + 1
    except Exception:
        return 0


# --- docker build commands in shell text ---


def _commands(text: str) -> list[tuple[int, list[str]]]:
    """Shell command lines (continuations joined) with their first line number, tokenised."""
    out = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        masked = EXPR.sub(lambda m: "__expr_" + re.sub(r"\W", "_", m.group(1)) + "__", buffer)
        for piece in re.split(r"&&|\|\||;|\|", masked):
            try:
                words = shlex.split(piece, comments=True)
            except ValueError:
                words = piece.split()
            if words:
                out.append((start, words))
        buffer = ""
    return out


def build_call(words: list[str]) -> tuple[str, str, str, bool] | None:
    """(file or '', context, target, push) of a `docker [buildx] build` / `podman build`."""
    for at, word in enumerate(words):
        tool = word.rsplit("/", 1)[-1]
        if tool not in ("docker", "podman", "buildah"):
            continue
        rest = words[at + 1 :]
        if rest[:1] == ["buildx"]:
            rest = rest[1:]
        if rest[:1] not in (["build"], ["bud"]):
            continue
        return _parse_build(rest[1:])
    return None


def _parse_build(args: list[str]) -> tuple[str, str, str, bool] | None:
    file, target, positional, push = "", "", [], False
    skip = False
    for at, arg in enumerate(args):
        if skip:
            skip = False
            continue
        name, eq, value = arg.partition("=")
        if arg in ("-f", "--file"):
            file = args[at + 1] if at + 1 < len(args) else ""
            skip = True
        elif name in ("-f", "--file") and eq:
            file = value
        elif arg == "--target":
            target = args[at + 1] if at + 1 < len(args) else ""
            skip = True
        elif name == "--target" and eq:
            target = value
        elif arg == "--push" or (name in ("-o", "--output") and "push=true" in value):
            push = True
        elif arg in VALUED:
            nxt = args[at + 1] if at + 1 < len(args) else ""
            push = push or (arg in ("-o", "--output") and "push=true" in nxt)
            skip = True
        elif arg.startswith("-"):
            continue
        else:
            positional.append(arg)
    plain = [p for p in positional if not re.fullmatch(r"\$\{?\w+\}?", p)]
    if not plain:  # a lone `$VAR` may expand to options and the context alike: not judged
        return None
    context = plain[-1]  # docker takes one; earlier words come from expanded variables
    if "://" in context or context.startswith("git@") or context == "-":
        return None
    return file, context, target, push


def bake_call(words: list[str]) -> tuple[list[str], list[str]] | None:
    """(files, targets) of a `docker buildx bake` / `docker bake` command."""
    for at, word in enumerate(words):
        if word.rsplit("/", 1)[-1] != "docker":
            continue
        rest = words[at + 1 :]
        rest = rest[1:] if rest[:1] == ["buildx"] else rest
        if rest[:1] != ["bake"]:
            continue
        files, targets, skip = [], [], False
        for pos, arg in enumerate(rest[1:], 1):
            if skip:
                skip = False
            elif arg in ("-f", "--file"):
                files.append(rest[pos + 1] if pos + 1 < len(rest) else "")
                skip = True
            elif arg in ("--set", "--progress", "--builder", "--metadata-file", "--allow",
                         "--call", "--provenance", "--sbom"):  # fmt: skip
                skip = True
            elif not arg.startswith("-"):
                targets.append(arg)
        return files, targets
    return None


def from_shell(
    text: str, where: str, first_line: int, how: str, base: str = ".", root: Path | None = None
) -> list[Found]:
    found = []
    for number, words in _commands(text):
        baked = bake_call(words) if root is not None else None
        if baked is not None and root is not None:
            line = f"{where}:{first_line + number - 1}"
            found += [
                Found(f.dockerfile, f.context, f.target, line, f"{how}-bake", False)
                for f in bake(root, base, baked[0], baked[1] or ["default"])
            ]
            continue
        call = build_call(words)
        if call is None:
            continue
        file, context, target, push = call
        ctx = join(base, context)
        dockerfile = join(base, file) if file else join(ctx, "Dockerfile")
        line = first_line + number - 1
        found.append(Found(dockerfile, ctx, target, f"{where}:{line}", how, push))
    return found


# --- GitHub workflows ---


def _matrix(job: Any) -> list[dict[str, Any]]:
    strategy = job.get("strategy") if isinstance(job, dict) else None
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return [{}]
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    axes = {k: v for k, v in axes.items() if isinstance(v, list)}
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    combos = combos if axes else []  # an include-only matrix: its entries are the combinations
    include = matrix.get("include")
    for extra in include if isinstance(include, list) else []:
        if not isinstance(extra, dict):
            continue
        merged = False
        for combo in combos:
            shared = [k for k in extra if k in axes]
            if shared and all(combo.get(k) == extra[k] for k in shared):
                combo.update({k: v for k, v in extra.items() if k not in axes})
                merged = True
        if not merged:
            combos.append(dict(extra))
    return combos or [{}]


def _lookup(expr: str, scope: dict[str, Any]) -> str | None:
    value: Any = scope
    for part in expr.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return str(value) if isinstance(value, str | int | float) else None


def fill(text: str, scope: dict[str, Any]) -> str:
    """`${{ matrix.x }}` / `${{ env.X }}` filled in where known; others kept as they are."""

    def one(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), scope)
        return match.group(0) if value is None else value

    return EXPR.sub(one, str(text))


def from_workflow(root: Path, path: Path) -> list[Found]:
    data = _yaml(path)
    rel = path.relative_to(root).as_posix()
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        return []
    found: list[Found] = []
    wf_env = data.get("env") if isinstance(data.get("env"), dict) else {}
    for job in data["jobs"].values():
        if isinstance(job, dict) and "uses" in job:  # a reusable workflow: read it like a step
            found += [f for combo in _matrix(job) for f in _step(root, rel, job, {"matrix": combo})]
            continue
        if not isinstance(job, dict) or not isinstance(job.get("steps"), list):
            continue
        env = {**wf_env, **(job.get("env") if isinstance(job.get("env"), dict) else {})}
        default_dir = ((job.get("defaults") or {}).get("run") or {}).get("working-directory")
        for combo in _matrix(job):
            scope = {"matrix": combo, "env": env}
            for step in job["steps"]:
                if isinstance(step, dict):
                    found += _step(root, rel, step, scope, default_dir)
    return found


def _step(root: Path, rel: str, step: Any, scope: dict[str, Any], wd: Any = None) -> list[Found]:
    uses = str(step.get("uses", ""))
    with_ = step.get("with") if isinstance(step.get("with"), dict) else {}
    where = f"{rel}:{_line(step)}"
    if "github-builder/.github/workflows/bake" in uses:
        with_ = {**with_, "targets": with_.get("target", with_.get("targets", ""))}
        uses = "docker/bake-action"
    elif "/.github/workflows/" in uses and ("context" in with_ or "file" in with_):
        uses = "docker/build-push-action"  # a called workflow taking build-push-action's inputs
        with_ = {**with_, "file": with_.get("file") or with_.get("dockerfile")}
    if re.search(r"(docker|useblacksmith|depot)/build-push-action", uses):
        context = norm(fill(with_.get("context", "."), scope))
        file = with_.get("file")
        dockerfile = norm(fill(file, scope)) if file else join(context, "Dockerfile")
        target = fill(with_.get("target", ""), scope)
        push = str(with_.get("push", "false")).strip().lower() not in ("false", "")
        return [Found(dockerfile, context, target, where, "workflow", push)]
    if re.search(r"(docker|useblacksmith|depot)/bake-action", uses):
        workdir = norm(fill(with_.get("workdir", "."), scope))
        files = [fill(f, scope) for f in re.split(r"[\n,]", str(with_.get("files", ""))) if f]
        targets = [
            fill(t, scope) for t in re.split(r"[\n,]", str(with_.get("targets", ""))) if t.strip()
        ]
        push = str(with_.get("push", "false")).strip().lower() not in ("false", "")
        return [
            Found(f.dockerfile, f.context, f.target, where, "workflow-bake", push)
            for f in bake(root, workdir, [x.strip() for x in files], [t.strip() for t in targets])
        ]
    run = step.get("run")
    if isinstance(run, str):
        base = norm(str(step.get("working-directory") or wd or "."))
        first = _line(step, "run") + (1 if "\n" in run else 0)
        return from_shell(fill(run, scope), rel, first, "workflow-run", base, root)
    return []


# --- bake (resolved by buildx itself) ---


def bake(root: Path, workdir: str, files: list[str], targets: list[str]) -> list[Found]:
    folder = root / workdir
    argv = ["docker", "buildx", "bake", "--print"]
    for file in files:
        argv += ["-f", file]
    argv += [t for t in targets if "${{" not in t]
    try:
        result = subprocess.run(
            argv, cwd=folder, capture_output=True, text=True, timeout=60, check=False
        )
        printed = json.loads(result.stdout) if result.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        printed = {}
    label = ",".join(files) or "default bake files"
    out = []
    for name, target in (printed.get("target") or {}).items():
        context = target.get("context", ".")
        if "://" in context:
            continue
        ctx = join(workdir, context)
        dockerfile = target.get("dockerfile", "Dockerfile")
        file = norm(dockerfile) if dockerfile.startswith("/") else join(ctx, dockerfile)
        out.append(
            Found(file, ctx, target.get("target", ""), f"{workdir}/{label}#{name}", "bake", False)
        )
    return out


# --- scripts, GitLab, goreleaser ---


def _walk(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if any(part in SKIP_DIRS for part in rel[:-1]) or not path.is_file():
            continue
        found.append(path)
    return found


def from_scripts(root: Path, files: list[Path]) -> list[Found]:
    found: list[Found] = []
    for path in files:
        if not (path.name in SCRIPT_NAMES or path.suffix == ".sh" or path.name == "package.json"):
            continue
        if path.stat().st_size > 500_000:
            continue
        rel = path.relative_to(root).as_posix()
        base = norm(str(path.parent.relative_to(root)))
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.name == "package.json":
            try:
                scripts = json.loads(text).get("scripts") or {}
            except (ValueError, AttributeError):
                continue
            for number, line in enumerate(text.splitlines(), 1):
                for name, command in scripts.items():
                    if isinstance(command, str) and f'"{name}"' in line:
                        found += from_shell(command, rel, number, "script", base, root)
            continue
        found += from_shell(text, rel, 1, "script", base, root)
    return found


def from_gitlab(root: Path) -> list[Found]:
    path = root / ".gitlab-ci.yml"
    if not path.is_file():
        return []
    return from_shell(path.read_text(encoding="utf-8", errors="replace"), ".gitlab-ci.yml", 1, "gl")


def from_goreleaser(root: Path) -> list[Found]:
    found = []
    for name in (".goreleaser.yml", ".goreleaser.yaml", "goreleaser.yml", "goreleaser.yaml"):
        data = _yaml(root / name)
        if not isinstance(data, dict):
            continue
        for key in ("dockers", "dockers_v2"):
            for index, entry in enumerate(data.get(key) or []):
                if isinstance(entry, dict):
                    file = norm(str(entry.get("dockerfile", "Dockerfile")))
                    where = f"{name}:{_line(data[key], index)}"
                    found.append(Found(file, ".", "", where, "goreleaser", True))
    return found


def extract(root: Path) -> list[Found]:
    """Every image build the repository's own files describe, in order of strength."""
    found: list[Found] = []
    workflows = root / ".github" / "workflows"
    if workflows.is_dir():
        for path in sorted(workflows.iterdir()):
            if path.suffix in (".yml", ".yaml"):
                found += from_workflow(root, path)
    found += from_gitlab(root)
    if any((root / name).is_file() for name in BAKE_FILES):
        found += bake(root, ".", [], ["default"])
    found += from_scripts(root, _walk(root))
    found += from_goreleaser(root)
    return found
