"""Which Dockerfiles are images. Pure.

When compose or bake files build something, they are the truth: a Dockerfile they do not build
is not an image. Without them, Dockerfiles under test, example and fixture folders are left out,
and so are `Dockerfile.<variant>` files that no build script, Makefile or CI file names when
the repository has a main Dockerfile. Each one left out is reported with the reason; `images:`
in `.mab.yml` adds any of them back. A "Dockerfile" that is not text is refused.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from mab.detection.project import DockerfileInfo

# Folders whose Dockerfiles serve tests, examples and fixtures, not releases.
NOT_SHIPPED_DIRS = frozenset(
    [
        "test",
        "tests",
        "testdata",
        "__tests__",
        "testing",
        "e2e",
        "example",
        "examples",
        "fixture",
        "fixtures",
        "playwright",
        "cypress",
        "selenium",
        "development",
        "docs",
        "doc",
        "sample",
        "samples",
        "demo",
        "demos",
    ]
)
# Folders of a project's own tooling: their Dockerfiles are images only when something builds
# them (a Dockerfile found there by name alone is tooling).
TOOLING_DIRS = frozenset(["hack", "tools"])
# Files that build images by naming a Dockerfile: build scripts, task runners, CI files.
BUILD_SCRIPT_NAMES = frozenset(
    {
        "Makefile",
        "GNUmakefile",
        "makefile",
        "justfile",
        "Justfile",
        "Taskfile.yml",
        "Taskfile.yaml",
        "package.json",
        ".gitlab-ci.yml",
        "skaffold.yaml",
        "skaffold.yml",
        "cloudbuild.yaml",
        "cloudbuild.yml",
        "fly.toml",
        "Earthfile",
    }
)
BUILD_SCRIPT_SUFFIXES = (".sh", ".mk", ".bash")
# Words that name a test runner in a compose service or a Dockerfile (`sut` is the service
# Docker Hub's automated tests run).
TEST_RUNNER_WORDS = frozenset(
    ["test", "tests", "testing", "e2e", "playwright", "cypress", "selenium", "sut", "tilt"]
)
MANAGED_MARKER = "Managed by `mab init-ci`"
# Base images of Windows containers: Microsoft's Windows images, and Server Core / Nano Server
# variants of other images (`mcr.microsoft.com/dotnet/runtime:8.0-nanoserver-ltsc2022`).
WINDOWS_BASE = re.compile(r"mcr\.microsoft\.com/windows(?:/|$)|servercore|nanoserver", re.I)


def windows_base(info: DockerfileInfo, target: str | None) -> str | None:
    """The Windows base image the built stage (`target`, else the last) starts from, if any."""
    by_name = {s.name: s for s in info.stages if s.name}
    stage = by_name.get(target) if target else (info.stages[-1] if info.stages else None)
    seen = set()
    while stage is not None and stage.base in by_name and stage.base not in seen:
        seen.add(stage.base)
        stage = by_name[stage.base]
    if stage is not None and WINDOWS_BASE.search(stage.base):
        return stage.base
    return None


def tooling(path: str) -> str | None:
    """The tooling folder (`hack/`, `tools/`) `path` lies in, if any."""
    return next((p for p in posixpath.dirname(path).split("/") if p.lower() in TOOLING_DIRS), None)


def is_build_script(path: str) -> bool:
    name = posixpath.basename(path)
    if name in BUILD_SCRIPT_NAMES or name.endswith(BUILD_SCRIPT_SUFFIXES):
        return True
    return path.startswith(".github/workflows/") and name.endswith((".yml", ".yaml"))


def not_shipped_dir(path: str) -> str | None:
    """The test/example/fixture folder `path` lies in, if any."""
    for part in posixpath.dirname(path).split("/"):
        if part.lower() in NOT_SHIPPED_DIRS:
            return part
    return None


def runs_tests(service: str, dockerfile: str) -> str | None:
    """Why a compose service or bake target that builds `dockerfile` runs tests instead of
    shipping, or None: a test word in its name or its Dockerfile's, or a test folder."""
    folder = not_shipped_dir(dockerfile)
    if folder is not None:
        return f"its Dockerfile sits in {folder}/"
    words = re.split(r"[^a-z0-9]+", service.lower())
    variant = posixpath.basename(dockerfile).lower().split(".")
    for word in [*words, *variant[1:]]:
        if word in TEST_RUNNER_WORDS:
            return f"{word!r} names a test runner"
    return None


def missing_copies(
    sources: tuple[str, ...], context: str, exists: Callable[[str], bool]
) -> list[str]:
    """The COPY/ADD sources that are not in the repository (`exists` is asked about
    repo-relative paths): a build from a fresh checkout cannot find them. Sources with
    variables or wildcards, and paths that leave the context, are not judged."""
    missing = []
    for source in sources:
        if any(c in source for c in "$*?[") or source.startswith("<<"):
            continue
        path = posixpath.normpath(posixpath.join(context, source.lstrip("/")))
        if path.startswith("../") or path == "..":
            continue
        if not exists(path):
            missing.append(source)
    return missing


# Variant names that are flavours of a shipped image (another base OS, a slimmer build), not
# dev or test set-ups: `Dockerfile.alpine`, `Dockerfile-distroless`, `debian.Dockerfile`.
FLAVOURS = frozenset(
    [
        "alpine",
        "debian",
        "ubuntu",
        "distroless",
        "slim",
        "scratch",
        "bookworm",
        "bullseye",
        "trixie",
        "ubi",
        "rhel",
        "fedora",
        "centos",
        "rocky",
        "alma",
        "base",
        "full",
        "minimal",
        "static",
        "musl",
        "gpu",
        "cuda",
        "rootless",
        "release",
        "prod",
        "production",
    ]
)


_DEV_WORDS = frozenset(["dev", "devel", "development", "debug", "local", "ci", "tilt"])


def flavour(path: str) -> str | None:
    """The flavour a `Dockerfile.<flavour>` variant names, if it is one."""
    base = posixpath.basename(path).lower()
    for prefix in ("dockerfile.", "containerfile.", "dockerfile-", "containerfile-"):
        if base.startswith(prefix):
            words = re.split(r"[^a-z0-9]+", base[len(prefix) :])
            if any(w in _DEV_WORDS or w in TEST_RUNNER_WORDS for w in words):
                return None
            return next((w for w in words if w in FLAVOURS), None)
    return None


def is_variant(path: str) -> bool:
    """`Dockerfile.dev`, `Dockerfile-dev`, `Containerfile.test`: a variant of a main one."""
    return (
        posixpath.basename(path)
        .lower()
        .startswith(("dockerfile.", "containerfile.", "dockerfile-", "containerfile-"))
    )


def named_in(path: str, scripts: dict[str, str]) -> str | None:
    """The first build script (not one mab wrote) that names the Dockerfile at `path`."""
    pattern = re.compile(r"(?<![\w.-])" + re.escape(posixpath.basename(path)) + r"(?![\w.-])")
    for script, text in sorted(scripts.items()):
        if MANAGED_MARKER not in text and pattern.search(text):
            return script
    return None


def text_problem(raw: bytes) -> str | None:
    """Why bytes read from a "Dockerfile" are not a Dockerfile's text, or None."""
    if b"\0" in raw:
        return "it is not a text file (it holds NUL bytes)"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"it is not UTF-8 text (undecodable byte at offset {exc.start})"
    return None


def choose(
    dockerfiles: list[str], built: set[str], specs_exist: bool, scripts: dict[str, str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Of the Dockerfiles found, those that are images of their own (not built by a compose
    service or bake target already), and (path, reason) for each one left out."""
    rest = [d for d in dockerfiles if d not in built]
    if specs_exist:
        reason = "no CI job, bake target, build script or compose service builds it as an image"
        return [], [(d, reason) for d in rest]
    kept: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path in rest:
        folder = not_shipped_dir(path) or tooling(path)
        if folder is not None:
            skipped.append((path, f"it sits in {folder}/ (tests, examples, fixtures do not ship)"))
        else:
            kept.append(path)
    mains = [d for d in kept if not is_variant(d)]
    if not mains and not built:
        return kept, skipped
    images = list(mains)
    for path in kept:
        if path in mains:
            continue
        if named_in(path, scripts) is not None or flavour(path) is not None:
            images.append(path)
        else:
            reason = "a Dockerfile variant that no build script, Makefile or CI file names"
            skipped.append((path, reason))
    return sorted(images), sorted(skipped)


# `Dockerfile.<x>` names that are not Dockerfiles: source code (a `dockerfile.py` parser),
# documents, data, and templates that must be rendered before they can be built.
_NOT_DOCKERFILE_SUFFIXES = frozenset(
    [
        "py",
        "pyi",
        "go",
        "rs",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "java",
        "kt",
        "rb",
        "php",
        "c",
        "h",
        "cc",
        "cpp",
        "cs",
        "swift",
        "md",
        "rst",
        "txt",
        "adoc",
        "json",
        "yaml",
        "yml",
        "toml",
        "ini",
        "cfg",
        "sh",
        "bash",
        "ps1",
        "lock",
        "j2",
        "jinja",
        "jinja2",
        "tmpl",
        "tpl",
        "template",
        "in",
        "erb",
        "hbs",
        "mustache",
        "bak",
        "orig",
        "old",
        "swp",
        "tmp",
        "example",
        "sample",
        "dockerignore",
    ]
)


def is_dockerfile_name(name: str) -> bool:
    """`Dockerfile`, `Containerfile`, `api.Dockerfile`, `Dockerfile.api`; not `*.dockerignore`,
    `Dockerfile.j2` or `dockerfile.py`."""
    lower = name.lower()
    if lower in ("dockerfile", "containerfile"):
        return True
    if lower.endswith((".dockerfile", ".containerfile")):
        return True
    if lower.startswith(("dockerfile.", "containerfile.", "dockerfile-", "containerfile-")):
        return "." not in lower or lower.rsplit(".", 1)[1] not in _NOT_DOCKERFILE_SUFFIXES
    return False
