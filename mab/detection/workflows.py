"""The images a repository's own CI builds: GitHub workflows and GitLab CI files. Pure: each
reader takes a file's text and its path and returns `Build`s and `BakeRun`s with file:line.

GitHub: `docker/build-push-action` steps (`file`, `context`, `target`, `platforms`,
`build-args`, `push`, `tags`), with the images and tags of the `docker/metadata-action` step
they take their tags from; `docker/bake-action` steps (`files`, `targets`, `workdir`);
`docker build`/`buildx build`/`buildx bake` in `run:`; jobs that call a reusable workflow
(`docker/github-builder` and the like) with such inputs. `${{ matrix.X }}`, `${{ env.X }}` and
`${{ inputs.X }}` are filled in (one build per matrix entry); what stays an expression is not
guessed. GitLab: the docker, buildah and kaniko commands of every job's scripts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from mab.detection.commands import build_commands
from mab.detection.compose import scalar
from mab.detection.evidence import BakeRun, Build, from_command, image_name, inside, without_tag
from mab.errors import UserError
from mab.files.yamlio import line_of, parse_data

_EXPRESSION = re.compile(r"\$\{\{\s*(matrix|env|inputs)\.([A-Za-z0-9_-]+)\s*\}\}")
_STEP_OUTPUT = re.compile(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.")
_MAX_COMBINATIONS = 64
# Inputs of reusable build workflows (docker/github-builder and home-made ones), by meaning.
# docker/build-push-action and the actions that take the same inputs.
BUILD_PUSH_ACTIONS = frozenset({"docker/build-push-action", "depot/build-push-action"})
BAKE_ACTIONS = frozenset({"docker/bake-action", "depot/bake-action"})
_LIKE_A_BUILD = re.compile(r"docker|buildah|container|image|kaniko", re.IGNORECASE)
_CALL_INPUTS = {
    "file": (
        "file",
        "dockerfile",
        "docker-file",
        "dockerfile-path",
        "dockerfile_path",
        "containerfiles",
    ),
    "context": (
        "context",
        "docker-context",
        "context_dir",
        "build-context",
        "context-path",
        "directory",
        "workdir",
    ),
    "target": ("target", "build_target", "build-target", "docker-target"),
    "platforms": ("platforms", "platform"),
    "images": ("meta-images", "images", "image", "image_name", "image-name", "docker-image"),
    "tags": ("meta-tags", "tags"),
    "bake-files": ("files", "bake-files"),
    "bake-targets": ("target", "targets"),
}

Found = Build | BakeRun


def github_builds(text: str, path: str, inputs: Mapping[str, str] | None = None) -> list[Found]:
    """The builds of one workflow file; `inputs` when another workflow calls it."""
    try:
        data = parse_data(text, path)
    except UserError:
        return []
    jobs = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(jobs, dict):
        return []
    found: list[Found] = []
    defaults = _call_defaults(data)
    env = {**defaults, **(inputs or {})}
    workflow_env = _strings(data.get("env"))
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            continue
        for matrix in _combinations(job.get("strategy")):
            context = {"matrix": matrix, "inputs": env, "env": workflow_env}
            context["env"] = {**workflow_env, **_strings(job.get("env"))}
            found += _job_builds(text, path, str(job_id), job, context)
    return _unique(found)


def _job_builds(
    text: str, path: str, job_id: str, job: dict[str, Any], context: dict[str, Any]
) -> list[Found]:
    uses = job.get("uses")
    if isinstance(uses, str):
        line = line_of(text, ["jobs", job_id, "uses"]) or 1
        with_ = {k: _fill(scalar(v), context) for k, v in _strings(job.get("with")).items()}
        return _call_build(uses, with_, f"{path}:{line}")
    steps = job.get("steps")
    if not isinstance(steps, list):
        return []
    found: list[Found] = []
    metas: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    registries: list[str] = []
    workdir = _workdir(job.get("defaults"))
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        line = line_of(text, ["jobs", job_id, "steps", index]) or 1
        where = f"{path}:{line}"
        step_ctx = {**context, "env": {**context["env"], **_strings(step.get("env"))}}
        with_ = {k: _fill(scalar(v), step_ctx) for k, v in _strings(step.get("with")).items()}
        action = str(step.get("uses", "")).split("@", 1)[0].lower()
        if action == "docker/metadata-action":
            images = tuple(without_tag(i) for i in _list(with_.get("images", "")) if "${{" not in i)
            tags = tuple(
                line.strip() for line in with_.get("tags", "").splitlines() if line.strip()
            )
            metas[str(step.get("id", ""))] = (images, tags)
        elif action == "docker/login-action":
            registries.append(with_.get("registry") or "docker.io")
        elif action in BUILD_PUSH_ACTIONS:
            build = _build_push(with_, where, metas, tuple(registries))
            found += [build] if build is not None else []
        elif action in BAKE_ACTIONS:
            found += _bake_action(with_, where, metas, tuple(registries))
        elif action and _LIKE_A_BUILD.search(action) and not action.startswith("docker/"):
            found += _call_build(action, with_, where)  # buildah-build, docker-build-push, ...
        elif isinstance(step.get("run"), str):
            base = _workdir_of(step, workdir)
            run = _fill(step["run"], step_ctx)
            for command in build_commands(run, line + 1):
                built = from_command(command, "workflow", path, base)
                if built is not None:
                    found.append(built)
    return found


def _build_push(
    with_: dict[str, str],
    where: str,
    metas: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    registries: tuple[str, ...],
) -> Build | None:
    context = inside(".", with_.get("context") or ".")
    file = with_.get("file")
    dockerfile = inside(".", file) if file else (context and f"{context}/Dockerfile")
    if context is None or dockerfile is None:
        return None
    tags = tuple(_list(with_.get("tags", "")))
    images: tuple[str, ...] = ()
    meta = _STEP_OUTPUT.search(with_.get("tags", ""))
    if meta is not None and meta.group(1) in metas:
        images, tags = metas[meta.group(1)]
    else:
        images = tuple(dict.fromkeys(without_tag(t) for t in tags if "${{" not in t))
    push = with_.get("push", "false").strip().lower() not in ("false", "")
    outputs = with_.get("outputs", "")
    return Build(
        kind="workflow",
        where=where,
        dockerfile=dockerfile.removeprefix("./"),
        context=context,
        target=with_.get("target") or None,
        name=image_name(images[0]) if images else None,
        args=tuple(_pairs(_list(with_.get("build-args", "")))),
        platforms=tuple(_list(with_.get("platforms", ""))),
        images=images,
        tags=tags,
        push=push or "push=true" in outputs,
        registries=registries,
        artifacts="type=local" in outputs or "type=tar" in outputs,
    )


def _bake_action(
    with_: dict[str, str],
    where: str,
    metas: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    registries: tuple[str, ...],
) -> list[Found]:
    """A bake-action step; a file from metadata-action (`steps.X.outputs.bake-file`) brings
    that step's images and tags."""
    workdir = inside(".", with_.get("workdir") or ".")
    if workdir is None or with_.get("source", "").startswith(("http", "git")):
        return []
    images: tuple[str, ...] = ()
    files = []
    for item in _list(with_.get("files", "")):
        meta = _STEP_OUTPUT.search(item)
        if meta is not None:
            images = metas.get(meta.group(1), ((), ()))[0]
        elif (path := inside(workdir, item)) is not None:
            files.append(path)
    push = with_.get("push", "false").strip().lower() not in ("false", "")
    targets = tuple(_list(with_.get("targets", "")))
    return [BakeRun("workflow", where, workdir, tuple(files), targets, push, images, registries)]


def _call_build(uses: str, with_: dict[str, str], where: str) -> list[Found]:
    """A job that calls a reusable workflow with the inputs of a build."""

    def given(meaning: str) -> str | None:
        return next((with_[k] for k in _CALL_INPUTS[meaning] if with_.get(k)), None)

    if uses.startswith("./"):
        return []  # local workflows are read with their inputs by the caller of this module
    if "bake" in uses.lower() or given("bake-files"):
        files = tuple(f for f in (inside(".", x) for x in _list(given("bake-files") or "")) if f)
        targets = tuple(_list(given("bake-targets") or ""))
        push = with_.get("push", "true").strip().lower() not in ("false", "")
        return [BakeRun("workflow", where, ".", files, targets, push)]
    if not (given("file") or given("context")):
        return []
    found = _build_push(
        {"file": given("file") or "", "context": given("context") or ".",
         "target": given("target") or "", "platforms": given("platforms") or "",
         "tags": "", "push": with_.get("push", "true")},
        where, {}, (),
    )  # fmt: skip
    if found is None:
        return []
    images = tuple(without_tag(i) for i in _list(given("images") or ""))
    tags = tuple(_list(given("tags") or ""))
    name = image_name(images[0]) if images else None
    return [replace(found, images=images, tags=tags, name=name)]


def local_calls(text: str, path: str) -> list[tuple[str, dict[str, str]]]:
    """(called workflow path, inputs) for each job of `text` that calls a workflow of this
    repository (`uses: ./.github/workflows/x.yml`)."""
    try:
        data = parse_data(text, path)
    except UserError:
        return []
    jobs = data.get("jobs") if isinstance(data, dict) else None
    calls = []
    for job in (jobs or {}).values() if isinstance(jobs, dict) else ():
        uses = job.get("uses") if isinstance(job, dict) else None
        if isinstance(uses, str) and uses.startswith("./"):
            for matrix in _combinations(job.get("strategy")):
                ctx = {"matrix": matrix, "inputs": {}, "env": _strings(data.get("env"))}
                inputs = {k: _fill(scalar(v), ctx) for k, v in _strings(job.get("with")).items()}
                calls.append((uses[2:].split("@", 1)[0], inputs))
    return calls


def gitlab_builds(text: str, path: str) -> list[Found]:
    """The builds in the scripts of every job of a GitLab CI file."""
    try:
        data = parse_data(text, path)
    except UserError:
        return []
    if not isinstance(data, dict):
        return []
    found: list[Found] = []
    for name, job in data.items():
        if not isinstance(job, dict):
            continue
        variables = _strings(job.get("variables"))
        for key in ("before_script", "script"):
            lines = job.get(key)
            items = lines if isinstance(lines, list) else [lines]
            for index, item in enumerate(items):
                if not isinstance(item, str):
                    continue
                line = line_of(text, [str(name), key, index] if isinstance(lines, list) else
                               [str(name), key]) or 1  # fmt: skip
                for command in build_commands(_variables(item, variables), line):
                    built = from_command(command, "gitlab", path)
                    if built is not None:
                        found.append(built)
    return _unique(found)


# --- expressions and values -----------------------------------------------------------------


def _variables(script: str, variables: dict[str, Any]) -> str:
    """A GitLab script with the job's own `variables:` filled in."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = variables.get(name)
        return scalar(value) if value is not None and name != "CI_PROJECT_DIR" else match.group(0)

    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", replace, script)


def _fill(value: str, context: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        scope = context.get(match.group(1)) or {}
        given = scope.get(match.group(2)) if isinstance(scope, dict) else None
        return scalar(given) if given is not None and not isinstance(given, dict | list) else (
            match.group(0))  # fmt: skip

    return _EXPRESSION.sub(replace, value)


def _strings(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items() if v is not None} if isinstance(value, dict) else {}


def _list(value: str) -> list[str]:
    """A multi-line or comma-separated input (`platforms`, `tags`, `build-args`) as items (a
    comma inside a `${{ }}` expression does not split)."""
    value = re.sub(r"\$\{\{.*?\}\}", lambda m: m.group(0).replace(",", "\0"), value)
    items = [i.strip() for line in value.splitlines() for i in line.split(",")]
    if "\n" in value.strip():  # one item a line: commas may be part of an item (tags' rules)
        items = [line.strip() for line in value.splitlines()]
    return [i.replace("\0", ",") for i in items if i and not i.startswith("#")]


def _pairs(items: list[str]) -> Iterator[tuple[str, str]]:
    for item in items:
        name, _, value = item.partition("=")
        if name:
            yield name.strip(), value.strip()


def _workdir(defaults: Any) -> str:
    run = defaults.get("run") if isinstance(defaults, dict) else None
    wd = run.get("working-directory") if isinstance(run, dict) else None
    return str(wd) if isinstance(wd, str) and "$" not in wd else ""


def _workdir_of(step: dict[str, Any], job_default: str) -> str:
    wd = step.get("working-directory")
    return str(wd) if isinstance(wd, str) and "$" not in wd else job_default


def _call_defaults(data: Any) -> dict[str, str]:
    on = data.get("on", data.get(True)) if isinstance(data, dict) else None
    call = on.get("workflow_call") if isinstance(on, dict) else None
    inputs = call.get("inputs") if isinstance(call, dict) else None
    out = {}
    for name, spec in (inputs or {}).items() if isinstance(inputs, dict) else ():
        if isinstance(spec, dict) and spec.get("default") is not None:
            out[str(name)] = scalar(spec["default"])
    return out


def _combinations(strategy: Any) -> list[dict[str, Any]]:
    """The matrix's entries (one empty entry without a matrix), at most _MAX_COMBINATIONS."""
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return [{}]
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    axes = {k: v for k, v in axes.items() if isinstance(v, list)}
    keys = list(axes)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*axes.values())]
    combos = combos[:_MAX_COMBINATIONS] or ([{}] if not keys else [])
    for extra in matrix.get("include") or [] if isinstance(matrix.get("include"), list) else []:
        if not isinstance(extra, dict):
            continue
        matched = [c for c in combos if keys and all(c.get(k) == v for k, v in extra.items()
                                                      if k in keys)]  # fmt: skip
        if matched and any(k in keys for k in extra):
            for combo in matched:
                combo.update({k: v for k, v in extra.items() if k not in keys})
        elif combos == [{}]:
            combos = [dict(extra)]
        else:
            combos.append(dict(extra))
    return combos[:_MAX_COMBINATIONS]


def _unique(found: list[Found]) -> list[Found]:
    return list(dict.fromkeys(found))
