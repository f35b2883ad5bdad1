"""`mab build --ci`: the build for a CI job. The run is `mab.run.session.BuildSession`'s, shown
by `mab.run.ci.CiDisplay` (the grouped log, the summaries, the outputs, the metrics report);
this module decides the caches from `--cache-backend`/`--cache-prefix`/`--cache-read-only`
(`mab.progress.ci.cache_plan`, before `.mab.yml` defaults, which they replace). With
per-platform caches and several platforms, the run makes one cache-only export per platform
after a successful build (one build has one `--cache-to`; see `mab.engine.buildcmd`).
`mab replay FILE --ci` writes a recording's job log and reports the same way.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from mab.commands.running import ci_image, find_root, history_options, load_settings
from mab.config.types import CiCache
from mab.engine.buildcmd import BuildRequest, with_defaults
from mab.engine.docker import preflight
from mab.errors import UserError
from mab.history.capture import image_key
from mab.metrics.outputs import MetricsOutputs
from mab.progress import ci
from mab.progress.replay import ReplayRequest, replay
from mab.progress.session import StreamSession
from mab.run.ci import (
    METADATA_FILE,
    CiDisplay,
    annotate_failure,
    conclude,
    out,
    per_platform,
    quoted,
)
from mab.run.options import RunOptions
from mab.run.session import run_live


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
        out("::warning::" + ci.escape_data(ci.GHA_RUNTIME_MISSING))
    root = find_root(Path.cwd())
    settings = load_settings(root)
    req = replace(req, platforms=req.platforms or settings.platforms)
    req, plan = ci_request(req, cache_backend, cache_prefix, cache_read_only)
    image = ci_image(root, req, settings)
    if plan is None:  # caches named on the command line replace the defaults
        req = with_defaults(req, settings, image=image)
    checked = preflight(req.platforms, req.multi_platform, list(req.cache_exports), req.builder)
    metadata_path = env.report_dir / METADATA_FILE
    with contextlib.suppress(OSError):
        metadata_path.parent.mkdir(parents=True, exist_ok=True)
        metadata_path.unlink(missing_ok=True)
    req = _with_metadata(req, metadata_path)
    options = RunOptions(
        request=req,
        live=True,
        record=Path(record) if record else None,
        history=history_options(image, checked, history),
        metrics=metrics or MetricsOutputs(),
        after_exports=plan.exports if plan is not None else (),
        publish_record=not cache_read_only,
        image=image or image_key(req),
    )
    title = f"Build {', '.join(req.platforms) or 'the image'}"
    return run_live(options, CiDisplay(env, title, metadata=metadata_path)).exit_code


def run_replay_ci(request: ReplayRequest, environ: Mapping[str, str] | None = None) -> int:
    """`mab replay FILE --ci`: the CI job's log and reports of a recorded build, as `mab build
    --ci` wrote them, with the recorded outcome as the exit code (no digest: none was built)."""
    env = ci.detect(os.environ if environ is None else environ)
    session = StreamSession((), "plain", default_platform=request.default_platform)
    with quoted(env, f"Replay of {request.name}"):
        replay(request, session)
    assert session.summary is not None
    per_platform(env, session.model, session.summary)
    conclude(env, session.summary, None, "")
    code = session.model.exit_code or 0
    annotate_failure(env, session.summary, code)
    return code
