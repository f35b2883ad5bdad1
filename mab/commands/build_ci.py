"""`mab build --ci`: the build for a CI job, with its reports where the CI system wants them.

What is written, and where, is decided by `mab.progress.ci` (pure); this module runs the build
and writes:

1. plain progress into the job log (on GitHub inside a collapsible group, with workflow commands
   switched off while the build's own output streams), then a group per platform with its steps,
   then the summary table;
2. the JSON summary, the Markdown summary and the metrics report into the report directory;
3. on GitHub, the Markdown to `$GITHUB_STEP_SUMMARY` and the outputs to `$GITHUB_OUTPUT`;
4. with per-platform caches and several platforms, one cache-only export per platform after a
   successful build (one build has one `--cache-to`; see `mab.engine.buildcmd`).

All of it is written before mab exits with buildx's exit code, also when the build failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from mab.commands.running import (
    ci_image,
    find_root,
    load_settings,
    run_cancellable,
    start_history,
)
from mab.config.types import CiCache
from mab.engine.buildcmd import BuildRequest, buildx_argv, shown_argv, with_defaults
from mab.engine.docker import BuildRunner, preflight
from mab.errors import UserError
from mab.history.session import BuildHistory
from mab.metrics.build import gitlab_report
from mab.metrics.outputs import MetricsOutputs
from mab.progress import ci
from mab.progress.ansi import write_own
from mab.progress.cacheverify import verified
from mab.progress.model import BuildModel
from mab.progress.outcome import live_outcome
from mab.progress.plain import step_line
from mab.progress.recording import Recording
from mab.progress.replay import ReplayRequest, replay
from mab.progress.session import StreamSession
from mab.progress.summary import Summary, render_table

METADATA_FILE = "metadata.json"


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _own(line: str) -> None:
    """A line holding mab's own control sequences (a GitLab section marker)."""
    write_own(sys.stdout, line + "\n")
    sys.stdout.flush()


def ci_request(
    req: BuildRequest, backend: CiCache | None, prefix: str | None, read_only: bool
) -> tuple[BuildRequest, ci.CachePlan | None]:
    """Apply `--cache-backend`/`--cache-prefix` (before `.mab.yml` defaults, which they
    replace); the plan's exports still to run after the build come back with it."""
    if backend is None and prefix is None:
        return req, None
    if req.cache_from or req.cache_to:
        raise UserError(
            "--cache-prefix and --cache-from/--cache-to do not go together",
            hint="name the per-platform caches with --cache-prefix, or give specs yourself",
        )
    plan = ci.cache_plan(backend or "registry", prefix or "", req.platforms)
    cache_to = plan.exports[0][1] if len(plan.exports) == 1 and not read_only else None
    req = replace(req, cache_from=plan.cache_from, cache_to=cache_to)
    if read_only or len(plan.exports) < 2:
        plan = replace(plan, exports=())
    return req, plan


def _with_metadata(req: BuildRequest, path: Path) -> BuildRequest:
    if any(a == "--metadata-file" or a.startswith("--metadata-file=") for a in req.extra_args):
        return req
    return replace(req, extra_args=(*req.extra_args, "--metadata-file", str(path)))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _write(path: Path, text: str, *, append: bool = False) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if append else "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        _out(f"mab: warning: cannot write {path}: {exc.strerror or exc}")


def _run(req: BuildRequest, session: StreamSession, record: str | None) -> tuple[int, bool, float]:
    with Recording.open(record, req.platforms) as recording:
        runner = BuildRunner(buildx_argv(req), session.feed, recording.file, stdout="inherit")
        result = asyncio.run(run_cancellable(runner))
        recording.close(live_outcome(result.exit_code, result.canceled))
    return result.exit_code, result.canceled, result.duration


@dataclass(frozen=True)
class Ran:
    summary: Summary
    exit_code: int  # buildx's; 130 after a cancel
    model: BuildModel | None = None


@contextlib.contextmanager
def _quoted(env: ci.CiEnv, title: str | None = None) -> Iterator[None]:
    """On GitHub: a collapsible group (with a title), and workflow commands off inside, so
    nothing a build prints can set outputs, masks or annotations. On GitLab: a collapsible
    section (with a title). Elsewhere: nothing."""
    if env.gitlab and title is not None:
        name = ci.section_name(title)
        _own(ci.section_start(name, title, int(time.time())))
        try:
            yield
        finally:
            _own(ci.section_end(name, int(time.time())))
        return
    if not env.github:
        yield
        return
    token = ci.new_token()
    if title is not None:
        _out(ci.group_start(title))
    _out(ci.stop_commands(token))
    try:
        yield
    finally:
        _out(ci.resume_commands(token))
        if title is not None:
            _out(ci.group_end())


def _progress(
    env: ci.CiEnv,
    title: str,
    req: BuildRequest,
    record: str | None,
    *,
    per_platform: bool,
    history: BuildHistory | None = None,
) -> Ran:
    """Run one build with its plain progress (in a group, on GitHub)."""
    session = StreamSession(req.platforms, "plain")
    session.model.cache_to = req.cache_exports
    code, canceled, duration = 1, False, None
    with _quoted(env, title):
        _out("mab: " + shown_argv(buildx_argv(req)))
        try:
            code, canceled, duration = _run(req, session, record)
        finally:
            summary = verified(session.finish(code, canceled, duration), session.model)
            session.printer.update()
            if history is not None:
                history.finish(session.model, duration)
                summary = history.annotate(summary)
    if per_platform:
        _per_platform(env, session, summary)
    _warn_exports(env, summary)
    return Ran(summary, 130 if canceled else code, session.model)


def _warn_exports(env: ci.CiEnv, summary: Summary) -> None:
    """A cache export that failed or came out wrong is never silent: a warning annotation on
    GitHub, a warning line in the GitLab job log (the build's exit code stays its own)."""
    for export in summary.cache_exports:
        if export.problem:
            text = export.message()
            _out(f"::warning::{ci.escape_data(text)}" if env.github else f"mab: warning: {text}")


def _per_platform(env: ci.CiEnv, session: StreamSession, summary: Summary) -> None:
    """A group per platform with its steps, titled with its figures (GitHub only)."""
    if not env.github:
        return
    views = session.model.steps()
    for p in summary.platforms:
        with _quoted(env, ci.platform_title(p)):
            for view in views:
                if p.platform in view.platforms and view.is_instruction:
                    _out(step_line(view))


def _export_caches(env: ci.CiEnv, req: BuildRequest, plan: ci.CachePlan) -> None:
    """One cache-only build per platform: its layers are in the builder already."""
    for platform, spec in plan.exports:
        one = replace(
            req,
            platforms=(platform,),
            tags=(),
            push=False,
            load=False,
            cache_to=spec,
            extra_args=("--output", "type=cacheonly"),
        )
        title = f"Export the {platform} layer cache"
        ran = _progress(env, title, one, None, per_platform=False)
        if ran.exit_code != 0:
            text = f"exporting the {platform} layer cache failed; the next build may miss it"
            _out(f"::warning::{ci.escape_data(text)}" if env.github else f"mab: warning: {text}")


def report(env: ci.CiEnv, summary: Summary, digest: str | None, reference: str) -> Path:
    """Write the summaries, the metrics and (GitHub) the outputs; returns the JSON's path."""
    folder = env.report_dir
    json_path = folder / ci.SUMMARY_JSON
    markdown = ci.step_summary(summary, reference)
    _write(json_path, json.dumps(summary.to_json(), indent=2) + "\n")
    _write(folder / ci.SUMMARY_MARKDOWN, markdown)
    _write(folder / ci.METRICS_FILE, gitlab_report(summary))
    if env.summary_file is not None:
        _write(env.summary_file, markdown + "\n", append=True)
    if env.output_file is not None:
        values = ci.outputs(summary, digest, reference, json_path.resolve())
        _write(
            env.output_file, "".join(ci.output_entry(k, v) for k, v in values.items()), append=True
        )
    return json_path


def run_build_ci(
    req: BuildRequest,
    *,
    record: str | None,
    history: str | None = None,
    cache_backend: CiCache | None,
    cache_prefix: str | None,
    cache_read_only: bool,
    environ: Mapping[str, str] | None = None,
    metrics: MetricsOutputs | None = None,
) -> int:
    environ = os.environ if environ is None else environ
    env = ci.detect(environ)
    if env.github and cache_backend == "gha" and not environ.get("ACTIONS_RUNTIME_TOKEN"):
        _out("::warning::" + ci.escape_data(ci.GHA_RUNTIME_MISSING))
    root = find_root(Path.cwd())
    settings = load_settings(root)
    req = replace(req, platforms=req.platforms or settings.platforms)
    req, plan = ci_request(req, cache_backend, cache_prefix, cache_read_only)
    image = ci_image(root, req, settings)
    if plan is None:  # caches named on the command line replace the defaults
        req = with_defaults(req, settings, image=image)
    checked = preflight(req.platforms, req.multi_platform, list(req.cache_exports), req.builder)
    session = start_history(req, image, checked, history, metrics=metrics)
    metadata_path = env.report_dir / METADATA_FILE
    with contextlib.suppress(OSError):
        metadata_path.parent.mkdir(parents=True, exist_ok=True)
        metadata_path.unlink(missing_ok=True)
    req = _with_metadata(req, metadata_path)
    title = f"Build {', '.join(req.platforms) or 'the image'}"
    ran = _progress(env, title, req, record, per_platform=True, history=session)
    summary = ran.summary
    digest, reference = ci.built_reference(_read(metadata_path), req.tags)
    _conclude(env, summary, digest, reference)
    exported = req.cache_exports
    if ran.exit_code == 0 and plan is not None and plan.exports:
        _export_caches(env, replace(req, extra_args=()), plan)
        exported = tuple(spec for _, spec in plan.exports)
    if ran.model is not None and not cache_read_only:
        session.publish(ran.model, exported)
    _annotate(env, summary, ran.exit_code)
    return ran.exit_code


def _conclude(env: ci.CiEnv, summary: Summary, digest: str | None, reference: str) -> None:
    """The reports, then the summary table in the log."""
    path = report(env, summary, digest, reference)
    with _quoted(env):  # the table quotes the failed step's output
        _out("\n" + render_table(summary).rstrip("\n"))
    _out(f"mab: summary: {path}")


def _annotate(env: ci.CiEnv, summary: Summary, exit_code: int) -> None:
    """On GitHub, a failed build's error as an annotation on the job."""
    if exit_code not in (0, 130) and env.github:
        error = summary.error
        where = error.step if error and error.step else "the build"
        message = error.message if error else f"the build exited with {exit_code}"
        _out(ci.error_annotation("mab build failed", f"{where}: {message}"))


def run_replay_ci(request: ReplayRequest, environ: Mapping[str, str] | None = None) -> int:
    """`mab replay FILE --ci`: the CI job's log and reports of a recorded build, as `mab build
    --ci` wrote them, with the recorded outcome as the exit code (no digest: none was built)."""
    env = ci.detect(os.environ if environ is None else environ)
    session = StreamSession((), "plain", default_platform=request.default_platform)
    with _quoted(env, f"Replay of {request.name}"):
        replay(request, session)
    assert session.summary is not None
    _per_platform(env, session, session.summary)
    _conclude(env, session.summary, None, "")
    code = session.model.exit_code or 0
    _annotate(env, session.summary, code)
    return code
