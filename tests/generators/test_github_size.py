"""The workflow's size rule (README): one build job and one merge job whatever the number of
images, so N images take about 150 + 10·N lines; dependency caches add one fixed block (more
with build output), as do a local layer cache, emulated platforms, and signing and verifying
the published images."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mab.config.settings import Settings
from mab.detection.project import CacheMount, Lockfile, Project
from mab.errors import UserError
from mab.files.yamlio import dump_roundtrip
from mab.generators import github
from tests.generators.github_cases import CASES, Case
from tests.generators.test_github_depcache import _project

DEPS_BLOCK = 40  # the key step, a restore-and-save pair, the injection
BUILDS_BLOCK = 25  # one more pair, keyed per run
LOCAL_BLOCK = 30  # a restore-and-save pair and the swap step
EMULATED_BLOCK = 15  # QEMU, and one more platform entry
RELEASE_BLOCK = 125  # the published digest kept, the sign job (cosign, attestation), verify


def _lines(project: Project, settings: Settings) -> int:
    return len(dump_roundtrip(github.workflow(project, settings)).splitlines())


def bound(text: str, images: int, settings: Settings) -> int:
    limit = 150 + 10 * images
    limit += DEPS_BLOCK if "id: mab-cache-deps\n" in text else 0
    limit += BUILDS_BLOCK if "id: mab-cache-builds\n" in text else 0
    limit += LOCAL_BLOCK if settings.cache == "local" else 0
    limit += EMULATED_BLOCK if "id: mab-qemu\n" in text and settings.strategy != "qemu" else 0
    limit += RELEASE_BLOCK if "id: mab-verify\n" in text else 0
    return limit


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_case_keeps_to_the_size_rule(case: Case, tmp_path: Path) -> None:
    project = case.load(tmp_path)
    text = dump_roundtrip(github.workflow(project, case.settings))
    lines = len(text.splitlines())
    assert lines <= bound(text, len(project.images), case.settings), lines


def test_each_more_image_costs_about_ten_lines() -> None:
    one = _project(CacheMount("/root/.npm", 3), lockfiles=(Lockfile("package-lock.json", "npm"),))
    (image,) = one.images
    counts = (1, 2, 5, 9)
    sizes = []
    for n in counts:
        images = tuple(replace(image, name=f"svc{i}", context=f"svc{i}") for i in range(n))
        sizes.append(_lines(replace(one, images=images), Settings()))
    growth = [
        (sizes[i + 1] - sizes[i]) / (counts[i + 1] - counts[i]) for i in range(len(counts) - 1)
    ]
    assert all(g <= 10 for g in growth), (sizes, growth)
    assert sizes[-1] <= 150 + 10 * 9 + DEPS_BLOCK + RELEASE_BLOCK


def test_more_jobs_than_one_matrix_takes_is_refused() -> None:
    one = _project()
    (image,) = one.images
    images = tuple(replace(image, name=f"svc{i}", context=f"svc{i}") for i in range(129))
    with pytest.raises(UserError, match="258 build jobs; GitHub runs at most 256"):
        github.workflow(replace(one, images=images), Settings())
    assert github.workflow(replace(one, images=images), Settings(strategy="qemu"))
