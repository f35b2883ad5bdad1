"""`mab build`: run `docker buildx build --progress=rawjson` and show every platform's steps.

- In a terminal: the TUI (`mab.tui.run_build_app(request, record=path)`, imported lazily; plain
  lines when it is not installed).
- In a pipe or with `--no-tui`: one plain line per step change, then a summary table, on stdout.
- `--json`: progress lines on stderr, one JSON document (`Summary.to_json()`) on stdout.

Before anything runs, `mab.engine.docker.preflight` checks the engine (exit 3 with the fix named).
Ctrl+C cancels the build cleanly (a second one insists) and mab exits 130; otherwise mab exits
with buildx's exit code. `--record FILE` keeps the raw stream for `mab replay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import click

from mab.config.settings import CONFIG_FILE, Settings, parse_platforms
from mab.engine.buildcmd import (
    BuildRequest,
    buildx_argv,
    parse_build_arg,
    shown_argv,
    with_defaults,
)
from mab.engine.checks import Preflight
from mab.engine.docker import BuildResult, BuildRunner, StdoutMode, preflight
from mab.errors import EXIT_INTERRUPTED, UserError
from mab.progress.decoder import Event, StreamDecoder
from mab.progress.model import BuildModel, record_header
from mab.progress.plain import PlainPrinter
from mab.progress.summary import Summary

if TYPE_CHECKING:
    from mab.history.session import BuildHistory

OutputMode = Literal["tui", "plain", "json"]
CI_OPTIONS = ("cache_backend", "cache_prefix", "cache_read_only")
_REMOTE_CONTEXT = ("http://", "https://", "git@", "git://", "ssh://", "docker-image://")


def output_mode(as_json: bool, no_tui: bool) -> OutputMode:
    if as_json:
        return "json"
    return "plain" if no_tui else "tui"


def tui_hook(name: str) -> Callable[..., Any] | None:
    """`mab.tui.<name>`, imported only now (the core never imports the TUI at import time);
    None when the TUI or textual is not installed, and mab falls back to plain lines."""
    try:
        module = importlib.import_module("mab.tui")
    except ImportError:
        return None
    hook = getattr(module, name, None)
    return hook if callable(hook) else None


def interactive() -> bool:
    """A terminal on both ends: only then may a full-screen UI take over."""
    return sys.stdin.isatty() and sys.stdout.isatty()


class StreamSession:
    """Raw stream in (bytes or events), build model and plain lines out, then the summary.

    `plain`: progress and the summary table on stdout. `json`: progress on stderr, the JSON
    summary alone on stdout, so `mab build --json | jq` works.
    """

    def __init__(self, platforms: tuple[str, ...], mode: Literal["plain", "json"]) -> None:
        self.mode = mode
        self.decoder = StreamDecoder()
        self.model = BuildModel(platforms)
        out = sys.stderr if mode == "json" else sys.stdout
        self.printer = PlainPrinter(self.model, out.write, flush=out.flush)
        self.summary: Summary | None = None

    def feed(self, chunk: bytes) -> None:
        for event in self.decoder.feed(chunk):
            self.model.apply(event)
        self.printer.update()

    def apply(self, event: Event) -> None:
        self.model.apply(event)
        self.printer.update()

    def finish(self, exit_code: int, canceled: bool, duration_s: float | None = None) -> Summary:
        for event in self.decoder.close():
            self.model.apply(event)
        self.model.finish(exit_code, canceled)
        self.summary = Summary.from_model(self.model, duration_s=duration_s)
        return self.summary

    def report(self) -> None:
        """Print what is left, then the summary (a table, or the JSON document on stdout)."""
        assert self.summary is not None, "finish() first"
        if self.mode == "json":
            self.printer.update()
            sys.stdout.write(json.dumps(self.summary.to_json(), indent=2) + "\n")
            sys.stdout.flush()
        else:
            self.printer.finish(self.summary)


# --------------------------------------------------------------------------- running a build


def find_root(start: Path) -> Path:
    """The nearest directory holding `.mab.yml`, else the repository root, else `start`."""
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
    return start


def ci_image(root: Path, req: BuildRequest, settings: Settings) -> str | None:
    """The image whose per-platform caches CI uses for this build
    (`mab.registry.cacherefs.image_ref`
    of the detected image with the same context and Dockerfile), or None."""
    from mab.detection.detect import detect
    from mab.errors import MabError
    from mab.registry.cacherefs import FALLBACK_IMAGE, image_ref

    if req.context == "-" or req.context.startswith(_REMOTE_CONTEXT) or req.file == "-":
        return None
    context = Path(req.context).resolve()
    dockerfile = Path(req.file).resolve() if req.file else context / "Dockerfile"
    try:
        project = detect(root)
        wanted = (context.relative_to(root.resolve()), dockerfile.relative_to(root.resolve()))
    except (MabError, ValueError, OSError):  # outside the repository, or not detectable
        return None
    for image in project.images:
        if (Path(image.context), Path(image.dockerfile)) == wanted:
            ref = image_ref(project, settings, image)
            return None if ref.startswith(FALLBACK_IMAGE) else ref  # no real registry known
    return None


def load_settings(root: Path) -> Settings:
    from mab.config.file import load_settings as load

    return load(root)


def check_context(req: BuildRequest) -> None:
    """A local context must be a directory, and its Dockerfile must exist."""
    if req.context == "-" or req.context.startswith(_REMOTE_CONTEXT):
        return
    context = Path(req.context)
    if not context.is_dir():
        raise UserError(f"{req.context}: no such directory (the build context)")
    if req.file is not None:
        if req.file != "-" and not Path(req.file).is_file():
            raise UserError(f"{req.file}: no such Dockerfile", hint="check the -f/--file path")
    elif not (context / "Dockerfile").is_file():
        raise UserError(
            f"{context / 'Dockerfile'}: no such file",
            hint="give the Dockerfile with -f PATH, or the right context directory",
        )


def open_record(path: str | None, platforms: tuple[str, ...] = ()) -> BinaryIO | None:
    """The file `--record` writes: the raw stream, after a line naming the platforms."""
    if path is None:
        return None
    try:
        sink = Path(path).open("wb")  # noqa: SIM115 - closed by the caller
        sink.write(record_header(platforms))
        return sink
    except OSError as exc:
        raise UserError(f"{path}: cannot write the recording: {exc.strerror or exc}") from None


async def run_cancellable(runner: BuildRunner) -> BuildResult:
    """Run the build; SIGINT/SIGTERM to mab cancel it (buildx runs in its own session, so the
    terminal's Ctrl+C reaches only mab; a second Ctrl+C insists)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(sig, runner.cancel)
            installed.append(sig)
    try:
        return await runner.run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def reads_stdin(req: BuildRequest) -> bool:
    """`docker buildx build -` (or `-f -`) reads the context or Dockerfile from stdin."""
    return req.context == "-" or req.file == "-"


def silence_stdout() -> None:
    """Whoever read stdout went away (`mab build | head`): drop further output quietly."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def start_history(
    req: BuildRequest,
    image: str | None,
    checked: Preflight | None,
    history: str | None,
    notice: Callable[[str], None] | None = None,
) -> BuildHistory:
    """The build's history session (`mab.history.session`); notices go to stderr unless
    `notice` takes them (the TUI shows them)."""
    from mab.history.session import BuildHistory

    info = checked.builder if checked is not None else None
    return BuildHistory.start(
        req,
        image,
        builder=info.name if info else "",
        driver=info.driver if info else "",
        history=history,
        notice=notice or (lambda text: click.echo(f"mab: {text}", err=True)),
    )


def run_build_plain(
    req: BuildRequest,
    mode: Literal["plain", "json"],
    record: str | None,
    history: BuildHistory | None = None,
) -> int:
    argv = buildx_argv(req)
    click.echo("mab: " + shown_argv(argv), err=True)
    session = StreamSession(req.platforms, mode)
    sink = open_record(record, req.platforms)
    stdout: StdoutMode = "stderr" if mode == "json" else "inherit"
    runner = BuildRunner(argv, session.feed, sink, stdout=stdout, stdin=reads_stdin(req))
    try:
        result = asyncio.run(run_cancellable(runner))
        summary = session.finish(result.exit_code, result.canceled, result.duration)
        if history is not None:
            history.finish(session.model, result.duration)
            session.summary = history.annotate(summary)
            history.publish(session.model, req.cache_exports)
        session.report()
    except BrokenPipeError:
        silence_stdout()
        click.echo("mab: stdout was closed, so the build was canceled", err=True)
        return EXIT_INTERRUPTED
    finally:
        if sink is not None:
            sink.close()
    if result.record_error:
        click.echo(f"mab: warning: {record}: recording stopped: {result.record_error}", err=True)
    if result.canceled:
        click.echo("mab: build canceled", err=True)
    return result.mab_exit_code


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
@click.option("--cache-to", metavar="SPEC", help="Replaces the default cache export.")
@click.option("--no-cache", is_flag=True, help="Build every step again.")
@click.option("--target", help="Build this stage.")
@click.option("--build-arg", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--builder", metavar="NAME", help="The buildx builder (default: the current one).")
@click.option("--no-tui", is_flag=True, help="Plain lines even in a terminal.")
@click.option("--json", "as_json", is_flag=True, help="One JSON summary on stdout.")
@click.option("--record", metavar="FILE", help="Save the raw progress stream for `mab replay`.")
@click.option("--ci", is_flag=True, help="CI job: grouped log, job summary, outputs, metrics.")
@click.option("--cache-backend", type=click.Choice(["registry", "gha", "none"]), help="With --ci.")
@click.option("--cache-prefix", metavar="REF", help="With --ci: per-platform caches under REF.")
@click.option("--cache-read-only", is_flag=True, help="With --ci: read the caches, write none.")
@click.option("--history", metavar="PATH", help="The build history database (or $MAB_HISTORY).")
@click.pass_context
def build_command(ctx: click.Context, /, **opts: Any) -> int:
    """Build CONTEXT for every platform and show each platform's steps and cache hits.

    Arguments after `--` are passed to `docker buildx build` as they are.
    """
    req = _request(ctx, opts)
    check_context(req)
    if opts["ci"]:
        from mab.commands.build_ci import run_build_ci

        return run_build_ci(req, **{k: opts[k] for k in ("record", "history", *CI_OPTIONS)})
    root = find_root(Path.cwd())
    settings = load_settings(root)
    image = ci_image(root, req, settings)
    req = with_defaults(req, settings, image=image)
    checked = preflight(req.platforms, req.multi_platform, list(req.cache_exports), req.builder)
    mode = output_mode(opts["as_json"], opts["no_tui"])
    run_build_app = tui_hook("run_build_app") if mode == "tui" and interactive() else None
    if run_build_app is not None:

        def history_of(run: BuildRequest, notice: Callable[[str], None]) -> BuildHistory:
            return start_history(run, image, checked, opts["history"], notice)

        from mab.history.capture import image_key

        shown = image or image_key(req)
        return int(run_build_app(req, record=opts["record"], history=history_of, image=shown))
    history = start_history(req, image, checked, opts["history"])
    return run_build_plain(req, "json" if mode == "json" else "plain", opts["record"], history)
