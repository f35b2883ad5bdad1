from __future__ import annotations

import pytest

from mab.detection.select import (
    choose,
    missing_copies,
    named_in,
    not_shipped_dir,
    runs_tests,
    text_problem,
)


@pytest.mark.parametrize(
    ("path", "folder"),
    [
        ("tests/Dockerfile", "tests"),
        ("result/tests/Dockerfile", "tests"),
        ("examples/client/Dockerfile", "examples"),
        ("pkg/testdata/Dockerfile", "testdata"),
        ("Fixtures/x/Dockerfile", "Fixtures"),
        ("Dockerfile", None),
        ("services/testing-api/Dockerfile", None),
        ("latest/Dockerfile", None),
    ],
)
def test_not_shipped_folders(path: str, folder: str | None) -> None:
    assert not_shipped_dir(path) == folder


def test_variants_stay_only_when_something_builds_them() -> None:
    scripts = {
        "Makefile": "image:\n\tdocker build -f docker/Dockerfile.prod .\n",
        ".github/workflows/mab.yml": "# Managed by `mab init-ci`\n  file: Dockerfile.dev\n",
        "scripts/build.sh": "docker build -f Dockerfile.production .\n",
    }
    images, skipped = choose(
        ["Dockerfile", "Dockerfile.dev", "docker/Dockerfile.prod", "tests/Dockerfile"],
        set(),
        False,
        scripts,
    )
    assert images == ["Dockerfile", "docker/Dockerfile.prod"]
    assert [path for path, _ in skipped] == ["Dockerfile.dev", "tests/Dockerfile"]
    # mab's own workflow names Dockerfile.dev only because an older run built it: not evidence.
    assert named_in("Dockerfile.dev", scripts) is None
    assert named_in("Dockerfile.prod", scripts) == "Makefile"


def test_variants_are_the_images_when_there_is_no_main_dockerfile() -> None:
    images, skipped = choose(["Dockerfile.api", "Dockerfile.worker"], set(), False, {})
    assert images == ["Dockerfile.api", "Dockerfile.worker"]
    assert skipped == []


def test_compose_and_bake_are_the_truth() -> None:
    images, skipped = choose(["api/Dockerfile", "tools/Dockerfile"], {"api/Dockerfile"}, True, {})
    assert images == []
    assert skipped == [
        (
            "tools/Dockerfile",
            "no CI job, bake target, build script or compose service builds it as an image",
        )
    ]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"FROM alpine\n", None),
        ("FROM alpine\nLABEL who=\u00e9\n".encode(), None),
        (b"\x7fELF\x02\x01\x01\x00\x00", "NUL bytes"),
        ("LABEL who=\u00e9\n".encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_text_problem(raw: bytes, problem: str | None) -> None:
    found = text_problem(raw)
    assert found is None if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("service", "dockerfile", "runner"),
    [
        ("playwright", "frontend/Dockerfile.playwright", True),
        ("web", "frontend/Dockerfile.playwright", True),
        ("sut", "result/Dockerfile", True),
        ("api-e2e", "api/Dockerfile", True),
        ("worker", "worker/tests/Dockerfile", True),
        ("api", "api/Dockerfile", False),
        ("latest-api", "api/Dockerfile.prod", False),
        ("attestation", "att/Dockerfile", False),
    ],
)
def test_test_runners_among_compose_services(service: str, dockerfile: str, runner: bool) -> None:
    assert (runs_tests(service, dockerfile) is not None) is runner


def test_copies_of_files_the_repository_lacks() -> None:
    present = {"app/go.mod", "app/cmd", "shared/x"}
    sources = ("go.mod", "cmd", "bin/app", "/bin/tool", "$SRC/x", "*.txt", "../shared/x")
    assert missing_copies(sources, "app", present.__contains__) == ["bin/app", "/bin/tool"]
