from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import pytest

from mab.detection.detect import detect
from mab.detection.project import CacheMount, Image, Project, Remote
from mab.detection.select import is_dockerfile_name
from tests.fixture_repos import copy_fixture_repo


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    return root


def summary(project: Project) -> list[tuple[str, str, str, str, str | None, list[str]]]:
    return [
        (i.name, i.origin, i.context, i.dockerfile, i.target, [lf.path for lf in i.lockfiles])
        for i in project.images
    ]


def found_and_left(project: Project) -> list[str]:
    return [s.path for s in project.skipped]


def image(project: Project, name: str) -> Image:
    return next(i for i in project.images if i.name == name)


class TestCorpus:
    @pytest.mark.parametrize(
        ("name", "lockfile", "ecosystem", "mounts"),
        [
            ("node", "package-lock.json", "npm", ["/root/.npm"]),
            ("python-uv", "uv.lock", "uv", ["/root/.cache/uv", "/root/.cache/uv"]),
            (
                "python-poetry",
                "poetry.lock",
                "poetry",
                ["/root/.cache/pip", "/root/.cache/pypoetry"],
            ),
            ("rust", "Cargo.lock", "cargo", ["/usr/local/cargo/registry", "/usr/src/app/target"]),
            ("custom-workflow", "package*.json", "npm", ["/root/.npm"]),
        ],
    )
    def test_single_image_repos(
        self, tmp_path: Path, name: str, lockfile: str, ecosystem: str, mounts: list[str]
    ) -> None:
        project = detect(copy_fixture_repo(name, tmp_path))
        assert project.warnings == ()
        assert project.remote == Remote("github.com", f"acme/{name}", "github")
        [only] = project.images
        assert (only.name, only.origin, only.context, only.dockerfile) == (
            name,
            "dockerfile",
            ".",
            "Dockerfile",
        )
        assert only.ecosystems == (ecosystem,)
        assert only.info is not None
        assert [m.target for m in only.info.cache_mounts] == mounts
        assert only.info.lockfile_copies == (lockfile,)
        assert not only.info.cross_compiles

    def test_node_multi_stage(self, tmp_path: Path) -> None:
        info = detect(copy_fixture_repo("node", tmp_path)).images[0].info
        assert info is not None
        assert [s.name for s in info.stages] == ["deps", "build", "runtime"]
        assert info.base_images == ("node:22-bookworm-slim",)
        assert info.cache_mounts == (CacheMount(target="/root/.npm", line=5),)

    def test_go_cross_compiles(self, tmp_path: Path) -> None:
        project = detect(copy_fixture_repo("go", tmp_path))
        [go] = project.images
        assert go.info is not None
        assert go.info.cross_compiles
        assert {"TARGETOS", "TARGETARCH", "BUILDPLATFORM"} <= go.info.platform_args
        assert sorted({m.target for m in go.info.cache_mounts}) == [
            "/go/pkg/mod",
            "/root/.cache/go-build",
        ]
        assert go.info.lockfile_copies == ("go.sum",)
        assert [lf.path for lf in go.lockfiles] == ["go.sum"]

    def test_nolock(self, tmp_path: Path) -> None:
        project = detect(copy_fixture_repo("nolock", tmp_path))
        assert summary(project) == [("nolock", "dockerfile", ".", "Dockerfile", None, [])]
        assert project.lockfiles == ()

    def test_monorepo_compose_and_bake_are_the_truth(self, tmp_path: Path) -> None:
        project = detect(copy_fixture_repo("monorepo", tmp_path))
        assert project.warnings == ()
        assert project.remote == Remote("github.com", "acme/monorepo", "github")
        assert summary(project) == [
            (
                "api",
                "compose",
                "services/api",
                "services/api/Dockerfile",
                "runtime",
                ["services/api/package-lock.json"],
            ),
            (
                "worker",
                "compose",
                "services/worker",
                "services/worker/Dockerfile",
                None,
                ["services/worker/requirements-dev.txt", "services/worker/requirements.txt"],
            ),
            ("migrate", "compose", "tools/migrate", "tools/migrate/Dockerfile", None, []),
            ("web", "bake", "web", "web/web.Dockerfile", None, ["web/pnpm-lock.yaml"]),
        ]
        assert project.skipped == ()
        api, web = image(project, "api"), image(project, "web")
        assert api.args == (("NODE_ENV", "production"), ("NODE_VERSION", "22"))
        assert web.args == (("VITE_API_URL", "/api"),)
        assert web.info is not None and web.info.cross_compiles
        assert api.info is not None and api.info.base_images == ("node:22-alpine",)
        assert [lf.ecosystem for lf in project.lockfiles] == ["npm", "pip", "pip", "pnpm"]

    def test_broken_compose_file_is_a_warning_and_dockerfiles_still_count(
        self, tmp_path: Path
    ) -> None:
        root = copy_fixture_repo("monorepo", tmp_path)
        (root / "compose.yaml").write_text("services:\n  api:\n    build: [\n")
        project = detect(root)
        [warning] = project.warnings
        assert warning.startswith("compose.yaml:")
        assert "compose file ignored" in warning
        assert [(i.name, i.origin) for i in project.images] == [("web", "bake")]
        assert [s.path for s in project.skipped] == [
            "services/api/Dockerfile",
            "services/worker/Dockerfile",
            "tools/migrate/Dockerfile",
        ]


class TestWalk:
    def test_dependency_trees_and_ignored_dirs_are_skipped(self, tmp_path: Path) -> None:
        root = copy_fixture_repo("monorepo", tmp_path)
        write(
            root,
            {
                "services/api/node_modules/pkg/Dockerfile": "FROM scratch\n",
                "services/api/node_modules/pkg/package-lock.json": "{}\n",
                "scratch/Dockerfile": "FROM scratch\n",  # /scratch/ in .gitignore
                "web/dist/Dockerfile": "FROM scratch\n",  # dist/ in .gitignore
                "services/worker/.venv/lib/Dockerfile": "FROM scratch\n",
                "services/worker/__pycache__/requirements.txt": "x\n",
                "tools/vendor/Dockerfile": "FROM scratch\n",
                "tools/scratch/Dockerfile": "FROM alpine\n",  # not the root's /scratch/
            },
        )
        project = detect(root)
        dockerfiles = sorted([i.dockerfile for i in project.images] + found_and_left(project))
        assert dockerfiles == [
            "services/api/Dockerfile",
            "services/worker/Dockerfile",
            "tools/migrate/Dockerfile",
            "tools/scratch/Dockerfile",
            "web/web.Dockerfile",
        ]
        assert all("node_modules" not in lf.path for lf in project.lockfiles)
        assert all("__pycache__" not in lf.path for lf in project.lockfiles)

    @pytest.mark.parametrize(
        "skipped", ["node_modules", "vendor", "third_party", ".venv", "venv", "__pycache__"]
    )
    def test_dependency_dirs_are_skipped_without_a_gitignore(
        self, tmp_path: Path, skipped: str
    ) -> None:
        root = copy_fixture_repo("nolock", tmp_path)
        assert not (root / ".gitignore").exists()
        write(
            root,
            {
                f"site/{skipped}/lib/Dockerfile": "FROM scratch\n",
                f"site/{skipped}/lib/yarn.lock": "",
            },
        )
        project = detect(root)
        assert [i.dockerfile for i in project.images] == ["Dockerfile"]
        assert project.lockfiles == ()

    def test_nested_gitignore_negation_and_info_exclude(self, tmp_path: Path) -> None:
        root = write(
            tmp_path / "repo",
            {
                ".gitignore": "*.lock\n/build/\n",
                ".git/info/exclude": "local-only/\n",
                "app/.gitignore": "!Cargo.lock\nDockerfile.*\n!Dockerfile.keep\n",
                "app/Dockerfile": "FROM scratch\n",
                "app/Dockerfile.tmp": "FROM scratch\n",
                "app/Dockerfile.keep": "FROM scratch\n",
                "app/Cargo.lock": "",
                "Cargo.lock": "",
                "build/Dockerfile": "FROM scratch\n",
                "local-only/Dockerfile": "FROM scratch\n",
                "poetry.lock": "",
            },
        )
        project = detect(root)
        assert [i.dockerfile for i in project.images] == ["app/Dockerfile"]
        assert found_and_left(project) == ["app/Dockerfile.keep"]  # a variant nothing builds
        assert [lf.path for lf in project.lockfiles] == ["app/Cargo.lock"]

    def test_cargo_target_dirs_are_skipped_but_other_target_dirs_are_not(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path / "repo",
            {
                "Dockerfile": "FROM scratch\n",
                "target/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55\n",
                "target/release/build/x/Dockerfile": "FROM scratch\n",
                "deploy/target/Dockerfile": "FROM scratch\n",
            },
        )
        assert [i.dockerfile for i in detect(root).images] == [
            "Dockerfile",
            "deploy/target/Dockerfile",
        ]

    def test_unreadable_dockerfile_is_a_warning(self, tmp_path: Path) -> None:
        root = write(tmp_path / "repo", {"ok/Dockerfile": "FROM alpine\n"})
        (root / "gone").mkdir()
        (root / "gone" / "Dockerfile").symlink_to(root / "missing")
        project = detect(root)
        assert [(i.dockerfile, i.info is None) for i in project.images] == [
            ("ok/Dockerfile", False),
        ]
        assert project.warnings == (
            "gone/Dockerfile: cannot read (No such file or directory); not built",
        )

    def test_no_dockerfile_is_an_empty_project(self, tmp_path: Path) -> None:
        root = write(tmp_path / "repo", {"package-lock.json": "{}\n", "README.md": "hi\n"})
        project = detect(root)
        assert project.images == ()
        assert [lf.path for lf in project.lockfiles] == ["package-lock.json"]
        assert project.remote is None

    def test_results_do_not_depend_on_creation_order(self, tmp_path: Path) -> None:
        files = {f"svc{n}/Dockerfile": "FROM alpine\n" for n in (3, 1, 2)}
        one = detect(write(tmp_path / "a", files))
        other = detect(write(tmp_path / "b", dict(reversed(list(files.items())))))
        assert [i.dockerfile for i in one.images] == [
            "svc1/Dockerfile",
            "svc2/Dockerfile",
            "svc3/Dockerfile",
        ]
        assert one == other


class TestNames:
    def test_names_come_from_files_and_directories_and_are_unique(self, tmp_path: Path) -> None:
        root = write(
            tmp_path / "My_Repo",
            {
                "Dockerfile": "FROM alpine\n",
                "api.Dockerfile": "FROM alpine\n",
                "Dockerfile.worker": "FROM alpine\n",
                "Makefile": "worker:\n\tdocker build -f Dockerfile.worker .\n",
                "services/API/Dockerfile": "FROM alpine\n",
                "Containerfile": "FROM alpine\n",
                ".dockerignore": "*\n",
                "Dockerfile.dockerignore": "*\n",
            },
        )
        names = {i.dockerfile: i.name for i in detect(root).images}
        assert names == {
            "Containerfile": "app",  # never the checkout folder's name (no remote here)
            "Dockerfile": "app-2",
            "Dockerfile.worker": "worker",
            "api.Dockerfile": "api",
            "services/API/Dockerfile": "api-2",
        }

    def test_compose_names_win_over_names_from_paths(self, tmp_path: Path) -> None:
        root = write(
            tmp_path / "repo",
            {
                "compose.yml": """
                    services:
                      web:
                        build: ./frontend
                      "Admin Panel":
                        build:
                          context: .
                          dockerfile: admin/Dockerfile
                          args: [MODE=admin]
                      missing:
                        build: ./nowhere
                      outside:
                        build: ../elsewhere
                """,
                "frontend/Dockerfile": "FROM nginx\n",
                "web/Dockerfile": "FROM nginx\n",
                "admin/Dockerfile": "FROM alpine\n",
            },
        )
        project = detect(root)
        assert summary(project) == [
            ("admin-panel", "compose", ".", "admin/Dockerfile", None, []),
            ("web", "compose", "frontend", "frontend/Dockerfile", None, []),
        ]
        assert found_and_left(project) == ["web/Dockerfile"]
        assert project.warnings == (
            "compose.yml: service missing: nowhere/Dockerfile does not exist (skipped)",
            "compose.yml: service outside: context or Dockerfile is outside the repository"
            " (skipped)",
        )


class TestRemote:
    def test_worktree_git_file_points_at_the_config(self, tmp_path: Path) -> None:
        main = write(
            tmp_path / "main",
            {".git/config": '[remote "origin"]\n\turl = https://gitlab.com/g/p.git\n'},
        )
        write(main, {".git/worktrees/wt/commondir": "../..\n"})
        worktree = write(
            tmp_path / "wt",
            {".git": f"gitdir: {main}/.git/worktrees/wt\n", "Dockerfile": "FROM alpine\n"},
        )
        assert detect(worktree).remote == Remote("gitlab.com", "g/p", "gitlab")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dockerfile", True),
        ("Containerfile", True),
        ("api.Dockerfile", True),
        ("Dockerfile.worker", True),
        ("Dockerfile.prod.dockerignore", False),
        (".dockerignore", False),
        ("Dockerfiles", False),
        ("docker-compose.yml", False),
        ("dockerfile.py", False),
        ("Dockerfile.j2", False),
        ("Dockerfile.md", False),
        ("Dockerfile.alpine", True),
        ("Containerfile.dev", True),
    ],
)
def test_dockerfile_names(name: str, expected: bool) -> None:
    assert is_dockerfile_name(name) is expected


class TestNotDockerfiles:
    def test_fifo_huge_and_fromless_files_are_refused(self, tmp_path: Path) -> None:
        root = write(
            tmp_path / "repo",
            {"app/Dockerfile": "FROM alpine\n", "notes/Dockerfile": "just some notes\n"},
        )
        os.mkfifo(root / "Dockerfile")  # reading it would block forever
        (root / "big").mkdir()
        (root / "big" / "Dockerfile").write_bytes(b"FROM alpine\n" + b"# x\n" * 300_000)
        project = detect(root)
        assert [i.dockerfile for i in project.images] == ["app/Dockerfile"]
        assert sorted(project.warnings) == [
            "Dockerfile: not a regular file; not built",
            "big/Dockerfile: not a Dockerfile, it is over 1 MiB; not built",
            "notes/Dockerfile: not a Dockerfile, it has no FROM instruction; not built",
        ]
