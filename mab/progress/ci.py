"""What `mab build --ci` writes for a CI system: job-log groups, outputs, summaries, metrics.

Pure: every function here turns values into text (or reads an environment mapping); the
command (`mab.commands.build_ci`) does the writing.

GitHub Actions (`GITHUB_ACTIONS=true`)
    Progress goes into collapsible groups (`::group::` … `::endgroup::`); while the build's own
    output streams, workflow commands are switched off (`::stop-commands::<token>`), so a line
    a Dockerfile prints cannot set outputs, masks or annotations. The Markdown summary is
    appended to `$GITHUB_STEP_SUMMARY`; outputs go to `$GITHUB_OUTPUT` as
    `name<<DELIMITER` … `DELIMITER` blocks with a random delimiter absent from the value.
GitLab CI (`GITLAB_CI=true`)
    Plain progress in collapsible sections (`section_start`/`section_end`); the JSON summary,
    the Markdown summary and a metrics report (OpenMetrics text made by `mab.metrics.build`,
    for `artifacts:reports:metrics`) are written to a report directory the job keeps as
    artifacts.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from mab.config.types import CI_CACHES, Provider
from mab.errors import UserError
from mab.progress.ansi import safe
from mab.progress.summary import PlatformSummary, StepSummary, Summary, render_markdown
from mab.registry import cacherefs

REPORT_DIR = "mab-report"
SUMMARY_JSON = "summary.json"
SUMMARY_MARKDOWN = "summary.md"
METRICS_FILE = "metrics.txt"
REPORT_HTML = "report.html"
INSTRUCTION_CHARS = 72
GHA_RUNTIME_MISSING = (
    "the gha cache needs ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL in this step's "
    "environment, which GitHub gives JavaScript actions only: expose them to the job "
    "(for example with crazy-max/ghaction-github-runtime), or use the registry cache"
)

_DELIMITER_PREFIX = "ghadelimiter_"
_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class CiEnv:
    """Where the CI system wants what mab writes, read from its environment."""

    provider: Provider | None
    output_file: Path | None = None  # $GITHUB_OUTPUT
    summary_file: Path | None = None  # $GITHUB_STEP_SUMMARY
    report_dir: Path = Path(REPORT_DIR)  # where the JSON, Markdown and metrics files go
    report_url: str | None = None  # where a reader finds the HTML report among the artifacts

    @property
    def github(self) -> bool:
        return self.provider == "github"

    @property
    def gitlab(self) -> bool:
        return self.provider == "gitlab"


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value) if value else None


def detect(env: Mapping[str, str]) -> CiEnv:
    """GitHub Actions when `GITHUB_ACTIONS` is true, GitLab CI when `GITLAB_CI` is; else none.

    On GitHub the report directory is `$RUNNER_TEMP/mab-report` (outside the checkout); on
    GitLab `$CI_PROJECT_DIR/mab-report`, since artifacts must lie inside the project directory.
    `MAB_REPORT_DIR` overrides both.
    """
    override = _path(env, "MAB_REPORT_DIR")
    if env.get("GITHUB_ACTIONS", "").lower() == "true":
        base = _path(env, "RUNNER_TEMP")
        return CiEnv(
            "github",
            _path(env, "GITHUB_OUTPUT"),
            _path(env, "GITHUB_STEP_SUMMARY"),
            override or (base / REPORT_DIR if base else Path(REPORT_DIR)),
            _github_artifacts(env),
        )
    if env.get("GITLAB_CI", "").lower() == "true":
        base = _path(env, "CI_PROJECT_DIR")
        folder = override or (base / REPORT_DIR if base else None) or Path(REPORT_DIR)
        return CiEnv("gitlab", report_dir=folder, report_url=_gitlab_file(env, base, folder))
    return CiEnv(None, report_dir=override or Path(REPORT_DIR))


def _github_artifacts(env: Mapping[str, str]) -> str | None:
    """The run's page, at its artifacts (where the generated workflow uploads the report)."""
    parts = [env.get(k, "").strip() for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY")]
    run = env.get("GITHUB_RUN_ID", "").strip()
    if not all(parts) or not run.isdigit():
        return None
    return f"{parts[0].rstrip('/')}/{parts[1]}/actions/runs/{run}#artifacts"


def _gitlab_file(env: Mapping[str, str], base: Path | None, folder: Path) -> str | None:
    """The report as a job artifact file (when the report folder lies in the project)."""
    job = env.get("CI_JOB_URL", "").strip()
    if not job or base is None:
        return None
    try:  # a relative folder is relative to the job's directory, the project's
        inside = (folder if folder.is_absolute() else base / folder).relative_to(base)
    except ValueError:
        return None
    return f"{job.rstrip('/')}/artifacts/file/{(inside / REPORT_HTML).as_posix()}"


# --------------------------------------------------------------------------- workflow commands


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF escaped so it stays one command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def group_start(title: str) -> str:
    return f"::group::{escape_data(title)}"


def group_end() -> str:
    return "::endgroup::"


def error_annotation(title: str, message: str) -> str:
    return f"::error title={escape_property(title)}::{escape_data(message)}"


def new_token() -> str:
    """A token for `::stop-commands::`; unguessable, so build output cannot resume commands."""
    return "mab-" + secrets.token_hex(16)


def stop_commands(token: str) -> str:
    return f"::stop-commands::{token}"


def resume_commands(token: str) -> str:
    return f"::{token}::"


_SECTION_NAME = re.compile(r"[^a-z0-9_.-]+")


def section_name(title: str) -> str:
    """A GitLab section name from a title: `[a-z0-9_.-]` only."""
    return _SECTION_NAME.sub("_", title.lower()).strip("_")[:64] or "mab"


def section_start(name: str, header: str, now: int, *, collapsed: bool = True) -> str:
    """A collapsible section of a GitLab job log (`now`: Unix seconds)."""
    options = "[collapsed=true]" if collapsed else ""
    header = safe(header)
    return f"\x1b[0Ksection_start:{now}:{name}{options}\r\x1b[0K{header}"


def section_end(name: str, now: int) -> str:
    return f"\x1b[0Ksection_end:{now}:{name}\r\x1b[0K"


# --------------------------------------------------------------------------- $GITHUB_OUTPUT


def new_delimiter(value: str) -> str:
    """A heredoc delimiter that occurs nowhere in `value`."""
    while True:
        delimiter = _DELIMITER_PREFIX + secrets.token_hex(16)
        if delimiter not in value:
            return delimiter


def output_entry(name: str, value: str, delimiter: str | None = None) -> str:
    """One `$GITHUB_OUTPUT` entry; the multi-line form, which holds any value."""
    if not _OUTPUT_NAME.match(name):
        raise ValueError(f"not an output name: {name!r}")
    delimiter = delimiter or new_delimiter(value)
    if delimiter in value or delimiter in name:
        raise ValueError("the delimiter occurs in the value")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


# --------------------------------------------------------------------------- build results


def hit_ratios(summary: Summary) -> dict[str, float]:
    return {p.platform: round(p.hit_ratio, 3) for p in summary.platforms}


def _metadata(text: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def read_digest(metadata_text: str) -> str | None:
    """The image digest from buildx's `--metadata-file` (None if it holds none)."""
    digest = _metadata(metadata_text).get("containerimage.digest")
    return digest if isinstance(digest, str) and digest.startswith("sha256:") else None


def image_reference(image: str | None, tags: tuple[str, ...], digest: str | None) -> str:
    """`name@sha256:…` when the digest is known, else the first tag, else ""."""
    from mab.engine.buildcmd import image_from_tag

    name = image or (image_from_tag(tags[0]) if tags else None)
    if name and digest:
        return f"{name}@{digest}"
    return tags[0] if tags else ""


def built_reference(metadata_text: str, tags: tuple[str, ...]) -> tuple[str | None, str]:
    """(digest, reference) of what a build exported, from its `--metadata-file`: the first
    name buildx pushed (`image.name`, comma-separated), else the first tag."""
    digest = read_digest(metadata_text)
    names = _metadata(metadata_text).get("image.name")
    first = names.split(",")[0].strip() if isinstance(names, str) else ""
    return digest, image_reference(None, (first,) if first else tags, digest)


def outputs(
    summary: Summary,
    digest: str | None,
    reference: str,
    summary_path: Path,
    report_path: Path | None = None,
) -> dict[str, str]:
    """The step outputs, in the order the action documents them."""
    return {
        "digest": digest or "",
        "image": reference,
        "hit-ratio": json.dumps(hit_ratios(summary), separators=(",", ":")),
        "summary-path": str(summary_path),
        "status": summary.status,
        "report-path": str(report_path) if report_path is not None else "",
    }


def short_instruction(text: str, limit: int = INSTRUCTION_CHARS) -> str:
    """One line, runs of blanks squeezed, at most `limit` characters (an ellipsis ends a cut)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _short_step(step: StepSummary) -> StepSummary:
    return replace(step, instruction=short_instruction(step.instruction))


def readable(summary: Summary) -> Summary:
    """The summary with every instruction shortened, for tables a reader can scan."""
    return replace(
        summary,
        steps=tuple(_short_step(s) for s in summary.steps),
        slowest=tuple(_short_step(s) for s in summary.slowest),
        platforms=tuple(
            replace(p, first_miss=_short_step(p.first_miss) if p.first_miss else None)
            for p in summary.platforms
        ),
    )


def step_summary(summary: Summary, reference: str, report_url: str | None = None) -> str:
    """The Markdown for the job summary: what was built, a link to the HTML report (timeline,
    steps, causes, history charts) when the CI system keeps it, then the build's own report."""
    head = ["## mab build", ""]
    if reference:
        head += [f"Image: `{reference}`", ""]
    if report_url:
        head += [
            f"HTML report (timeline, steps, why they missed, history): `{REPORT_HTML}` "
            f"in [the artifacts]({report_url})",
            "",
        ]
    return "\n".join(head) + "\n" + render_markdown(readable(summary))


def platform_title(p: PlatformSummary) -> str:
    """`linux/arm64: 7 steps, 5 cached, 2 executed (71% hits) in 12.3s` for a group title."""
    text = (
        f"{p.platform}: {p.steps} steps, {p.cached} cached, {p.executed} executed "
        f"({p.hit_ratio * 100:.0f}% hits) in {p.duration_s:.1f}s"
    )
    return text + (f", {p.failed} failed" if p.failed else "")


# --------------------------------------------------------------------------- caches


@dataclass(frozen=True)
class CachePlan:
    """`--cache-from` specs for the build, and one cache export per platform."""

    cache_from: tuple[str, ...]
    exports: tuple[tuple[str, str], ...]  # (platform, --cache-to spec)


def cache_plan(backend: str, prefix: str, platforms: tuple[str, ...]) -> CachePlan:
    """Per-platform caches named as `mab init-ci` names them: registry refs
    `<prefix>:buildcache-<os>-<arch>`, or `gha` scopes `<prefix>-<os>-<arch>`."""
    if backend == "none":
        return CachePlan((), ())
    if backend not in CI_CACHES:
        raise UserError(f"--cache-backend {backend!r}: expected one of {', '.join(CI_CACHES)}")
    if not prefix:
        raise UserError(
            f"the {backend} cache needs a prefix",
            hint="give --cache-prefix (an image name for registry, a scope name for gha)",
        )
    if not platforms:
        raise UserError("per-platform caches need --platform", hint="e.g. --platform linux/amd64")
    if backend == "registry":
        specs = [(p, cacherefs.registry_specs(prefix, p)) for p in platforms]
    else:
        specs = [(p, cacherefs.gha_specs(prefix, p)) for p in platforms]
    cache_from = tuple(dict.fromkeys(s for _, spec in specs for s in spec.cache_from))
    return CachePlan(cache_from, tuple((p, spec.cache_to) for p, spec in specs))
