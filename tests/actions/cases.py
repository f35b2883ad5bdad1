"""Build summaries for golden tests: a cold success, a cache-heavy rebuild and a failure.

Built from the summary dataclasses directly, with the reference project's steps, so the golden
files change only when the rendering does.
"""

from __future__ import annotations

from collections.abc import Mapping

from mab.progress.model import StepState
from mab.progress.summary import ErrorSummary, PlatformSummary, StepSummary, Summary

AMD, ARM = "linux/amd64", "linux/arm64"
DEPS_RUN = (
    "RUN set -e;     mkdir -p vendor;     grep -v '^#' deps.lock | while read -r name version "
    'integrity; do         [ -n "$name" ] || continue;         echo "fetching ${name}@${version}"'
)
SRC_RUN = "RUN set -e;     mkdir -p build;     cat src/lib.sh src/main.sh > build/app"
INSTRUCTIONS = (
    ("base", 2, 2, "WORKDIR /app"),
    ("deps", 1, 2, "COPY deps.lock ./"),
    ("deps", 2, 2, DEPS_RUN),
    ("src", 1, 2, "COPY src/ ./src/"),
    ("src", 2, 2, SRC_RUN),
    ("final", 1, 3, "COPY --from=deps /app/vendor ./vendor"),
    ("final", 2, 3, "COPY --from=src /app/build ./"),
    ("final", 3, 3, 'RUN ["/app/app", "--self-test"]'),
)


def _steps(
    platform: str, states: Mapping[int, tuple[StepState, float | None]]
) -> list[StepSummary]:
    out = []
    for i, (stage, index, total, instruction) in enumerate(INSTRUCTIONS):
        state, seconds = states.get(i, (StepState.CACHED, None))
        out.append(StepSummary((platform,), stage, index, total, instruction, state, seconds))
    return out


def _platform(platform: str, steps: list[StepSummary], duration: float) -> PlatformSummary:
    states = [s.state for s in steps]
    return PlatformSummary(
        platform=platform,
        steps=len(steps),
        cached=states.count(StepState.CACHED),
        executed=states.count(StepState.DONE),
        failed=states.count(StepState.ERROR),
        canceled=states.count(StepState.CANCELED),
        duration_s=duration,
        first_miss=next((s for s in steps if s.state is not StepState.CACHED), None),
    )


def _summary(
    status: str,
    duration: float,
    by_platform: dict[str, tuple[list[StepSummary], float]],
    error: ErrorSummary | None = None,
) -> Summary:
    steps = [s for steps, _ in by_platform.values() for s in steps]
    ran = sorted(
        (s for s in steps if s.state is StepState.DONE and s.duration_s is not None),
        key=lambda s: -(s.duration_s or 0.0),
    )
    return Summary(
        status=status,
        duration_s=duration,
        platforms=tuple(_platform(p, s, d) for p, (s, d) in by_platform.items()),
        steps=tuple(steps),
        slowest=tuple(ran[:5]),
        error=error,
    )


def success() -> Summary:
    """A cold build: every step runs on both platforms, arm64 under emulation."""
    done = StepState.DONE
    amd = {0: 0.1, 1: 0.1, 2: 24.1, 3: 0.1, 4: 1.0, 5: 0.3, 6: 0.1, 7: 0.4}
    arm = {0: 0.1, 1: 0.1, 2: 121.0, 3: 0.1, 4: 1.4, 5: 0.4, 6: 0.1, 7: 1.1}
    return _summary(
        "succeeded",
        125.1,
        {
            AMD: (_steps(AMD, {i: (done, s) for i, s in amd.items()}), 25.7),
            ARM: (_steps(ARM, {i: (done, s) for i, s in arm.items()}), 122.9),
        },
    )


def cache_heavy() -> Summary:
    """A source-only change: the dependency install is cached, the source steps run again."""
    done = StepState.DONE
    changed = {3: (done, 0.1), 4: (done, 1.0), 6: (done, 0.1), 7: (done, 0.4)}
    changed_arm = {3: (done, 0.1), 4: (done, 1.5), 6: (done, 0.1), 7: (done, 1.2)}
    return _summary(
        "succeeded",
        4.2,
        {AMD: (_steps(AMD, changed), 1.9), ARM: (_steps(ARM, changed_arm), 3.3)},
    )


def failure() -> Summary:
    """The self-test fails on arm64; amd64 is canceled as the build stops."""
    done, error, canceled = StepState.DONE, StepState.ERROR, StepState.CANCELED
    amd = {7: (canceled, None)}
    arm = {4: (done, 1.4), 6: (done, 0.1), 7: (error, 0.9)}
    tail = (
        "self-test: checking vendor/ ...",
        "self-test: vendor/left-pad/BUILD-ID missing | expected 2 packages, found 1",
        "```",
    )
    message = (
        'process "/bin/sh -c [\\"/app/app\\", \\"--self-test\\"]" did not complete '
        "successfully: exit code: 1"
    )
    return _summary(
        "failed",
        6.8,
        {AMD: (_steps(AMD, amd), 2.2), ARM: (_steps(ARM, arm), 6.5)},
        ErrorSummary(message, f'[{ARM}] final 3/3 RUN ["/app/app", "--self-test"]', tail),
    )


CASES = {"success": success, "cache-heavy": cache_heavy, "failure": failure}
