"""How a build ended: the one rule for every view (plain, `--json`, `--ci`, the TUI).

A live build's outcome is buildx's exit code. A recording holds none, so it is read from the
stream: mab's own recordings end with an outcome line (`mab.progress.recording`); for a raw
stream, buildx's `ERROR:` block or a failed step is a failed build, steps closed as canceled a
canceled one, and a build that exported its result a finished one. Anything else (steps still
running when the stream stops, or no result exported) is a stream that ended before the build
did: `incomplete`, with its own exit code.
"""

from __future__ import annotations

from dataclasses import dataclass

from mab.errors import EXIT_CHECK_FAILED, EXIT_INCOMPLETE, EXIT_INTERRUPTED
from mab.progress.names import Kind
from mab.progress.steps import BuildStatus, StepState, StepView

__all__ = ["Outcome", "failed_step", "live_outcome", "recorded_outcome"]

_CACHE_KINDS = (Kind.CACHE_IMPORT, Kind.CACHE_EXPORT)
# A build's last steps: its output, or (`-o type=cacheonly`) its cache export, even a failed
# one that `ignore-error=true` let the build succeed past.
_RESULT_KINDS = (Kind.IMAGE_EXPORT, Kind.PUSH, Kind.CACHE_EXPORT)
_NO_OUTPUT = "no output specified"  # buildx's warning when a build exports nothing


@dataclass(frozen=True, slots=True)
class Outcome:
    status: BuildStatus
    exit_code: int

    @property
    def canceled(self) -> bool:
        return self.status is BuildStatus.CANCELED


def live_outcome(exit_code: int, canceled: bool) -> Outcome:
    """A build that ran here: its exit code decides (130 after a cancel)."""
    if canceled:
        return Outcome(BuildStatus.CANCELED, EXIT_INTERRUPTED)
    return Outcome(BuildStatus.SUCCEEDED if exit_code == 0 else BuildStatus.FAILED, exit_code)


def recorded_outcome(
    vertices: tuple[StepView, ...],
    error_text: list[str],
    text: list[str],
    trailer: tuple[str, int] | None,
) -> Outcome:
    """The outcome of a recorded build, from what its stream showed (see the module's doc)."""
    if trailer is not None:
        status, code = trailer
        return Outcome(BuildStatus(status), code)
    errors = [line for line in error_text if line.startswith("ERROR:")]
    canceled_text = any("context canceled" in line.lower() for line in errors)
    if errors and not canceled_text:
        return Outcome(BuildStatus.FAILED, EXIT_CHECK_FAILED)
    if any(v.state is StepState.ERROR and v.kind not in _CACHE_KINDS for v in vertices):
        return Outcome(BuildStatus.FAILED, EXIT_CHECK_FAILED)
    states = {v.state for v in vertices}
    if canceled_text or StepState.CANCELED in states:
        return Outcome(BuildStatus.CANCELED, EXIT_INTERRUPTED)
    if not vertices or states & {StepState.RUNNING, StepState.PENDING}:
        return Outcome(BuildStatus.INCOMPLETE, EXIT_INCOMPLETE)
    exported = any(v.kind in _RESULT_KINDS for v in vertices)
    if exported or any(_NO_OUTPUT in line.lower() for line in text):
        return Outcome(BuildStatus.SUCCEEDED, 0)
    return Outcome(BuildStatus.INCOMPLETE, EXIT_INCOMPLETE)


def failed_step(steps: tuple[StepView, ...], vertices: tuple[StepView, ...]) -> StepView | None:
    """The Dockerfile step that failed first, else any other vertex that did (a failed cache
    import or export is left out: buildx goes on without it)."""
    failed = [v for v in steps if v.state is StepState.ERROR]
    if not failed:
        failed = [v for v in vertices if v.state is StepState.ERROR and v.kind not in _CACHE_KINDS]
    failed.sort(key=lambda v: v.completed or 0.0)
    return failed[0] if failed else None
