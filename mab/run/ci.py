"""`mab build --ci`'s display: the build for a CI job, its reports where the CI system wants them.

What is written, and where, is decided by `mab.progress.ci` (pure); this display writes:

1. plain progress into the job log (on GitHub inside a collapsible group, with workflow commands
   switched off while the build's own output streams), then a group per platform with its steps,
   then the summary table;
2. the JSON summary, the Markdown summary and the metrics report into the report directory;
3. on GitHub, the Markdown to `$GITHUB_STEP_SUMMARY` and the outputs to `$GITHUB_OUTPUT`;
4. a group for each per-platform cache-only export the run makes after a successful build.

All of it is written before mab exits with the run's exit code, also when the build failed.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mab.engine.buildcmd import buildx_argv, shown_argv
from mab.metrics.build import gitlab_report
from mab.progress import ci
from mab.progress.ansi import write_own
from mab.progress.model import BuildModel
from mab.progress.plain import PlainPrinter, step_line
from mab.progress.summary import Summary, render_table
from mab.run.display import Display
from mab.run.options import RunOptions
from mab.run.result import BuildResult
from mab.run.stdio import say

__all__ = ["METADATA_FILE", "CiDisplay", "conclude", "out", "per_platform", "quoted"]

METADATA_FILE = "metadata.json"


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def own(line: str) -> None:
    """A line holding mab's own control sequences (a GitLab section marker)."""
    write_own(sys.stdout, line + "\n")
    sys.stdout.flush()


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
        out(f"mab: warning: cannot write {path}: {exc.strerror or exc}")


@contextlib.contextmanager
def quoted(env: ci.CiEnv, title: str | None = None) -> Iterator[None]:
    """On GitHub: a collapsible group (with a title), and workflow commands off inside, so
    nothing a build prints can set outputs, masks or annotations. On GitLab: a collapsible
    section (with a title). Elsewhere: nothing."""
    if env.gitlab and title is not None:
        name = ci.section_name(title)
        own(ci.section_start(name, title, int(time.time())))
        try:
            yield
        finally:
            own(ci.section_end(name, int(time.time())))
        return
    if not env.github:
        yield
        return
    token = ci.new_token()
    if title is not None:
        out(ci.group_start(title))
    out(ci.stop_commands(token))
    try:
        yield
    finally:
        out(ci.resume_commands(token))
        if title is not None:
            out(ci.group_end())


def warn(env: ci.CiEnv, text: str) -> None:
    """A warning annotation on GitHub, a warning line in the job log elsewhere."""
    out(f"::warning::{ci.escape_data(text)}" if env.github else f"mab: warning: {text}")


def per_platform(env: ci.CiEnv, model: BuildModel, summary: Summary) -> None:
    """A group per platform with its steps, titled with its figures (GitHub only)."""
    if not env.github:
        return
    views = model.steps()
    for p in summary.platforms:
        with quoted(env, ci.platform_title(p)):
            for view in views:
                if p.platform in view.platforms and view.is_instruction:
                    out(step_line(view))


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


def conclude(env: ci.CiEnv, summary: Summary, digest: str | None, reference: str) -> None:
    """The reports, then the summary table in the log."""
    path = report(env, summary, digest, reference)
    with quoted(env):  # the table quotes the failed step's output
        out("\n" + render_table(summary).rstrip("\n"))
    out(f"mab: summary: {path}")


def annotate_failure(env: ci.CiEnv, summary: Summary, exit_code: int) -> None:
    """On GitHub, a failed build's error as an annotation on the job."""
    if exit_code not in (0, 130) and env.github:
        error = summary.error
        where = error.step if error and error.step else "the build"
        message = error.message if error else f"the build exited with {exit_code}"
        out(ci.error_annotation("mab build failed", f"{where}: {message}"))


class CiDisplay:
    """The job log of one `--ci` run: its progress in a group titled `title`, then (for the
    main build, `reports`) the per-platform groups, the reports and the summary table."""

    def __init__(
        self,
        env: ci.CiEnv,
        title: str,
        *,
        metadata: Path | None = None,
        export_of: str | None = None,
    ) -> None:
        self.env = env
        self.title = title
        self.metadata = metadata
        self.export_of = export_of  # the platform of a cache-only export: no reports
        self.printer: PlainPrinter | None = None
        self.model: BuildModel | None = None
        self.tags: tuple[str, ...] = ()
        self._group = contextlib.ExitStack()

    def started(self, model: BuildModel, options: RunOptions) -> None:
        self.model = model
        self.tags = options.request.tags
        self.printer = PlainPrinter(model, sys.stdout.write, logs=True, flush=sys.stdout.flush)
        self._group.enter_context(quoted(self.env, self.title))
        out("mab: " + shown_argv(buildx_argv(options.request, options.docker)))

    def model_changed(self) -> None:
        if self.printer is not None:
            self.printer.update()

    def notice(self, text: str) -> None:
        say(text)

    def finished(self, result: BuildResult) -> None:
        if self.printer is not None:
            self.printer.update()
        self._group.close()
        if result.error:
            sys.stderr.write(result.error + "\n")
        summary = result.summary
        if self.export_of is not None:
            if result.exit_code != 0:
                what = f"exporting the {self.export_of} layer cache failed"
                warn(self.env, f"{what}; the next build may miss it")
            return
        if self.model is not None:
            per_platform(self.env, self.model, summary)
        for warning in result.warnings:
            warn(self.env, warning)
        digest, reference = ci.built_reference(
            _read(self.metadata) if self.metadata else "", self.tags
        )
        conclude(self.env, summary, digest, reference)
        annotate_failure(self.env, summary, result.exit_code)

    def for_export(self, platform: str) -> Display:
        """The main build's group closes first (groups do not nest in a job log)."""
        if self.printer is not None:
            self.printer.update()
        self._group.close()
        title = f"Export the {platform} layer cache"
        return CiDisplay(self.env, title, export_of=platform)
