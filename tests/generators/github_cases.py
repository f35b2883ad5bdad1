"""The workflows the GitHub generator tests check: every fixture repo, every strategy and cache
backend on one of them, and a few hand-built projects for what the corpus does not show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mab.config.settings import S3Cache, Settings
from mab.config.types import CACHE_BACKENDS, DEFAULT_PLATFORMS, STRATEGIES, CacheBackend, Strategy
from mab.detection.detect import detect
from mab.detection.project import (
    CacheMount,
    DockerfileInfo,
    Image,
    Lockfile,
    Project,
    Remote,
    Stage,
)
from tests.fixture_repos import FIXTURE_REPOS, copy_fixture_repo

GOLDEN_DIR = Path(__file__).parent / "golden" / "github"
S3 = S3Cache(bucket="acme-build-cache", region="eu-west-1")


@dataclass(frozen=True)
class Case:
    name: str  # also the golden file's stem
    fixture: str | None  # a fixture repo to detect, or None for `project`
    settings: Settings
    project: Project | None = None

    def load(self, tmp: Path) -> Project:
        if self.project is not None:
            return self.project
        assert self.fixture is not None
        return detect(copy_fixture_repo(self.fixture, tmp))


def _settings(
    strategy: Strategy = "native",
    cache: CacheBackend = "registry",
    *,
    pin: bool = True,
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS,
    image: str | None = None,
    default_branch: str = "main",
) -> Settings:
    return Settings(
        platforms=platforms,
        strategy=strategy,
        cache=cache,
        s3=S3 if cache == "s3" else None,
        pin=pin,
        image=image,
        default_branch=default_branch,
    )


# A project on Docker Hub whose platforms include one without a native runner.
EMULATED = Project(
    images=(
        Image(
            name="tool",
            context=".",
            dockerfile="build/Dockerfile",
            target="release",
            args=(("VERSION", "1.0"),),
            info=DockerfileInfo(
                path="build/Dockerfile",
                stages=(Stage(0, "debian:bookworm", 1, name="release"),),
                cache_mounts=(CacheMount("/var/cache/apt", 3, sharing="locked"),),
                runs=frozenset({"pip"}),  # it runs pip, and mounts no cache for it
            ),
            lockfiles=(Lockfile("requirements.txt", "pip"),),
        ),
    ),
    remote=Remote("github.com", "Acme/Tool", "github"),
)

# Names from a hostile repository: a folder, a build arg and a branch holding `${{ ... }}` (and
# a quote and a glob character in the branch): written so that GitHub evaluates none of them.
HOSTILE_FOLDER = "app${{ secrets.DEPLOY_KEY }}"
HOSTILE_BRANCH = "feat${{github.token}}'x+1"
HOSTILE = Project(
    images=(
        Image(
            name="app",
            context=HOSTILE_FOLDER,
            dockerfile=f"{HOSTILE_FOLDER}/Dockerfile",
            args=(("NOTE", "${{ secrets.DEPLOY_KEY }}"),),
            info=DockerfileInfo(
                path=f"{HOSTILE_FOLDER}/Dockerfile", stages=(Stage(0, "alpine:3.20", 1),)
            ),
        ),
    ),
    remote=Remote("github.com", "acme/app", "github"),
)

CASES: tuple[Case, ...] = (
    *(Case(name, name, _settings()) for name in FIXTURE_REPOS),
    *(
        Case(f"go-{strategy}-{cache}", "go", _settings(strategy, cache))
        for strategy in STRATEGIES
        for cache in CACHE_BACKENDS
        if (strategy, cache) != ("native", "registry")
    ),
    Case("monorepo-qemu-registry", "monorepo", _settings("qemu")),
    Case("node-unpinned", "node", _settings(pin=False)),
    Case("hostile-names", None, _settings(default_branch=HOSTILE_BRANCH), HOSTILE),
    Case(
        "emulated-dockerhub",
        None,
        _settings(
            platforms=("linux/amd64", "linux/arm64", "linux/riscv64"),
            image="docker.io/acme/tool",
            default_branch="trunk",
        ),
        EMULATED,
    ),
)
