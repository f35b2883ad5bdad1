"""Never a second publisher. Pure.

An image the repository's own CI already pushes (`Image.publisher`, the step's file:line) must
not be pushed by a second pipeline under the same name: the two would race for its tags. mab
takes that CI's image names as its own, so it writes its pipeline only when told to replace
the publishing jobs (`--replace FILE`) or when the image is given another name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mab.detection.project import Image, Project


@dataclass(frozen=True)
class Clash:
    image: str  # mab's name for it
    reference: str  # what mab would push
    publisher: str  # "file:line" of the step that pushes it now

    @property
    def file(self) -> str:
        return self.publisher.split(":", 1)[0]

    @property
    def line(self) -> int:
        head = self.publisher.split(":", 1)[1].split(" ", 1)[0] if ":" in self.publisher else ""
        return int(head) if head.isdigit() else 0


def _normal(reference: str) -> str:
    ref = reference.lower()
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def clashes(project: Project, reference_of: Callable[[Image], str]) -> list[Clash]:
    """The images mab would push that the repository's CI already pushes under that name (or
    under names mab cannot read, which may be the same)."""
    found = []
    for image in project.images:
        if image.publisher is None:
            continue
        mine = reference_of(image)
        theirs = {_normal(r) for r in image.references}
        if not theirs or _normal(mine) in theirs:
            found.append(Clash(image.name, mine, image.publisher))
    return found


def jobs_at(jobs: Any, lines: set[int]) -> Iterator[str]:
    """The ids of the jobs (a ruamel mapping of job id -> job) whose text spans any of the
    1-based `lines`."""
    keys = list(jobs)
    starts = [jobs.lc.key(k)[0] + 1 for k in keys]
    for index, key in enumerate(keys):
        end = starts[index + 1] if index + 1 < len(keys) else 10**9
        if any(starts[index] <= line < end for line in lines):
            yield str(key)
