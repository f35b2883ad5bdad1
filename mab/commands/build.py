"""`mab build`: run `docker buildx build --progress=rawjson` and show every platform's steps.

- In a terminal: the TUI (`mab.tui.run_build_app(options)`, imported lazily; plain
  lines when it is not installed).
- In a pipe or with `--no-tui`: one plain line per step change, then a summary table, on stdout.
- `--json`: progress lines on stderr, one JSON document (`Summary.to_json()`) on stdout.

Before anything runs, `mab.engine.docker.preflight` checks the engine (exit 3 with the fix named).
The run is `mab.run.session.BuildSession`'s, the same for every display: Ctrl+C cancels the
build cleanly (a second one insists) and mab exits 130; a closed terminal (SIGHUP), SIGTERM or
SIGPIPE cancel it too (128+N); otherwise mab exits with buildx's exit code. `--record FILE`
keeps the raw stream for `mab replay`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from mab.commands.running import (
    check_context,
    ci_image,
    find_root,
    history_options,
    interactive,
    load_settings,
    output_mode,
    tui_entry,
)
from mab.config.settings import parse_platforms
from mab.config.types import CI_CACHES
from mab.detection.gitrepo import checked_out_branch, has_changes
from mab.engine.buildcmd import BuildRequest, parse_build_arg, with_defaults
from mab.engine.checks import Preflight
from mab.engine.docker import preflight
from mab.engine.doctor import emulated_platforms
from mab.history.capture import image_key
from mab.metrics.outputs import MetricsOutputs
from mab.run.display import LinesDisplay
from mab.run.options import RunOptions
from mab.run.plan import GitState, WritesAsked, check_writes
from mab.run.session import run_live

CI_OPTIONS = ("cache_backend", "cache_prefix", "cache_read_only")


def default_platform(req: BuildRequest, checked: Preflight) -> str | None:
    """The platform the builder builds when none is requested: its first (native) one."""
    builder = checked.builder if isinstance(checked, Preflight) else None
    if req.platforms or builder is None or not builder.platforms:
        return None
    return builder.platforms[0]


# --------------------------------------------------------------------------- the command


class _BuildCommand(click.Command):
    """Everything after `--` goes to buildx untouched (even with no CONTEXT before it)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            ctx.meta["mab.extra_args"] = tuple(args[cut + 1 :])
            args = args[:cut]
        return super().parse_args(ctx, args)


def _request(ctx: click.Context, opts: dict[str, Any]) -> BuildRequest:
    platforms = parse_platforms(",".join(opts["platform"])) if opts["platform"] else ()
    return BuildRequest(
        context=opts["context"],
        file=opts["file"],
        platforms=platforms,
        tags=tuple(opts["tag"]),
        push=opts["push"],
        load=opts["load"],
        cache_from=tuple(opts["cache_from"]),
        cache_to=opts["cache_to"],
        no_cache=opts["no_cache"],
        target=opts["target"],
        build_args=tuple(parse_build_arg(a) for a in opts["build_arg"]),
        builder=opts["builder"],
        extra_args=tuple(ctx.meta.get("mab.extra_args", ())),
    )


@click.command("build", cls=_BuildCommand)
@click.argument("context", default=".", required=False)
@click.option("-f", "--file", metavar="DOCKERFILE", help="Dockerfile (default CONTEXT/Dockerfile).")
@click.option(
    "--platform",
    multiple=True,
    metavar="P[,P...]",
    help="Target platforms (default: `platforms` in .mab.yml).",
)
@click.option("-t", "--tag", multiple=True, help="Image name and tag; repeatable.")
@click.option("--push", is_flag=True, help="Push the image to its registry.")
@click.option("--load", is_flag=True, help="Load the image into the local image store.")
@click.option("--cache-from", multiple=True, metavar="SPEC", help="Replaces the default caches.")
@click.option(
    "--cache-to",
    metavar="SPEC",
    help="Write this cache (a shared registry ref only from the default branch of a clean "
    "tree, or with --force); without it a local build writes none.",
)
@click.option("--no-cache", is_flag=True, help="Build every step again.")
@click.option("--target", help="Build this stage.")
@click.option("--build-arg", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--builder", metavar="NAME", help="The buildx builder (default: the current one).")
@click.option("--no-tui", is_flag=True, help="Plain lines even in a terminal.")
@click.option("--json", "as_json", is_flag=True, help="One JSON summary on stdout.")
@click.option("--record", metavar="FILE", help="Save the raw progress stream for `mab replay`.")
@click.option("--ci", is_flag=True, help="CI job: grouped log, job summary, outputs, metrics.")
@click.option("--cache-backend", type=click.Choice(CI_CACHES), help="With --ci.")
@click.option("--cache-prefix", metavar="REF", help="With --ci: per-platform caches under REF.")
@click.option("--cache-read-only", is_flag=True, help="With --ci: read the caches, write none.")
@click.option("--history", metavar="PATH", help="The build history database (or $MAB_HISTORY).")
@click.option(
    "--push-record",
    is_flag=True,
    help="Push the build record beside the registry cache it writes (CI's, unless asked).",
)
@click.option(
    "--force", is_flag=True, help="Write shared caches from another branch or a dirty tree."
)
@click.option("--quiet-logs", is_flag=True, help="Plain lines: leave out successful steps' logs.")
@click.option(
    "--export-dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the TUI's `e` writes its exports (default: mab's state folder).",
)
@click.option(
    "--metrics-file",
    metavar="PATH",
    type=click.Path(dir_okay=True, path_type=Path),
    help="Write the build's metrics there (node_exporter textfile format, atomically).",
)
@click.option("--pushgateway", metavar="URL", help="Push the build's metrics to a Pushgateway.")
@click.pass_context
def build_command(ctx: click.Context, /, **opts: Any) -> int:
    """Build CONTEXT for every platform and show each platform's steps and cache hits.

    Arguments after `--` are passed to `docker buildx build` as they are.
    """
    req = _request(ctx, opts)
    check_context(req)
    metrics = MetricsOutputs(opts["metrics_file"], opts["pushgateway"])
    metrics.check()
    if opts["ci"]:
        from mab.commands.build_ci import run_build_ci

        chosen = {k: opts[k] for k in ("record", "history", *CI_OPTIONS)}
        return run_build_ci(req, metrics=metrics, **chosen)
    root = find_root(Path.cwd())
    settings = load_settings(root)
    asked = WritesAsked(opts["cache_to"], opts["push_record"], opts["force"])
    git = GitState(checked_out_branch(root), has_changes(root))
    check_writes(asked, git, settings.default_branch)
    image = ci_image(root, req, settings)
    req = with_defaults(req, settings, image=image, export=False)
    checked = preflight(req.platforms, req.multi_platform, list(req.cache_exports), req.builder)
    mode = output_mode(opts["as_json"], opts["no_tui"])
    builder = checked.builder if isinstance(checked, Preflight) else None
    options = RunOptions(
        request=req,
        live=True,
        record=Path(opts["record"]) if opts["record"] else None,
        history=history_options(image, checked, opts["history"]),
        metrics=metrics,
        default_platform=default_platform(req, checked),
        publish_record=opts["push_record"],
        buildx_stdout="stderr" if mode == "json" else "inherit",
        export_dir=opts["export_dir"],
        emulated=emulated_platforms(req.platforms, builder.platforms if builder else ()),
        image=image or image_key(req),
    )
    entry = tui_entry() if mode == "tui" and interactive() else None
    if entry is not None:
        return entry.run_build_app(replace(options, buildx_stdout="capture"))
    display = LinesDisplay("json" if mode == "json" else "plain", logs=not opts["quiet_logs"])
    return run_live(options, display).exit_code
