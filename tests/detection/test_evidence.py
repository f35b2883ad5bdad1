"""Images from evidence: the repository's CI, bake files, build scripts, compose files and
Dockerfiles by name; each test is one shape public repositories have (a tree built here)."""

from __future__ import annotations

from pathlib import Path

from mab.detection.detect import detect
from mab.detection.project import Project
from tests.detection.test_detect import write

GO_DOCKERFILE = "FROM golang:1.22\nCOPY go.mod go.sum ./\nCOPY cmd ./cmd\nRUN go build ./cmd/app\n"
GO_TREE = {"go.mod": "module x\n", "go.sum": "", "cmd/app/main.go": "package main\n"}


def builds(project: Project) -> list[tuple[str, str, str | None]]:
    return [(i.dockerfile, i.context, i.target) for i in project.images]


def left_out(project: Project) -> dict[str, str]:
    return {s.path: s.reason for s in project.skipped}


def evidence(project: Project, dockerfile: str) -> dict[str, str]:
    image = next(i for i in project.images if i.dockerfile == dockerfile)
    return {name: f"{value}: {where}" for name, value, where in image.evidence}


class TestDevContainers:
    def test_a_devcontainer_compose_file_is_never_the_image(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "Dockerfile": "FROM alpine\n",
                ".devcontainer/docker-compose.yml": "services:\n  dev:\n    build: .\n",
                ".devcontainer/Dockerfile": "FROM mcr.microsoft.com/devcontainers/base\n",
            },
        )
        project = detect(root)
        assert builds(project) == [("Dockerfile", ".", None)]
        assert "dev container" in left_out(project)[".devcontainer/docker-compose.yml"]
        assert "dev container" in left_out(project)[".devcontainer/Dockerfile"]

    def test_what_a_devcontainer_json_names_is_left_out(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "Dockerfile": "FROM alpine\n",
                "docker/dev.Dockerfile": "FROM alpine\n",
                "compose.yaml": "services:\n  ws:\n    build: {dockerfile: docker/dev.Dockerfile}",
                ".devcontainer/devcontainer.json": """{
                  // comments and trailing commas, as dev containers allow
                  "dockerComposeFile": ["../compose.yaml"],
                  "service": "ws",
                }""",
            },
        )
        project = detect(root)
        assert builds(project) == [("Dockerfile", ".", None)]
        assert ".devcontainer/devcontainer.json" in left_out(project)["compose.yaml"]

    def test_the_root_dockerfile_a_dev_container_also_uses_stays_the_image(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                "Dockerfile": "FROM alpine\n",
                ".devcontainer/compose.yaml": "services:\n  app:\n    build:\n      context: ..\n",
            },
        )
        assert builds(detect(root)) == [("Dockerfile", ".", None)]


class TestBake:
    def test_paths_resolve_from_the_working_directory_not_the_bake_files_folder(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                "docker/docker-bake.hcl": """
                    group "default" { targets = ["app", "web"] }
                    target "app" {
                      context = "."
                      dockerfile = "docker/app.Dockerfile"
                    }
                    target "web" {
                      context = "web"
                      dockerfile = "Dockerfile"
                    }
                    target "e2e" { dockerfile = "docker/e2e.Dockerfile" }
                """,
                "docker/app.Dockerfile": "FROM alpine\n",
                "docker/e2e.Dockerfile": "FROM alpine\n",
                "web/Dockerfile": "FROM nginx\n",
                "tests/compose.yaml": "services:\n  e2e:\n    build: ..\n",
            },
        )
        project = detect(root)
        assert builds(project) == [
            ("docker/app.Dockerfile", ".", None),
            ("web/Dockerfile", "web", None),
        ]
        assert evidence(project, "web/Dockerfile")["dockerfile"].endswith("target web")

    def test_targets_that_write_files_are_not_images(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "docker-bake.hcl": """
                    target "image" {}
                    target "binaries" {
                      target = "bin"
                      output = ["type=local,dest=./bin"]
                    }
                """,
                "Dockerfile": "FROM alpine AS bin\nFROM alpine\n",
            },
        )
        assert builds(detect(root)) == [("Dockerfile", ".", None)]


class TestDockerfilesByName:
    def test_a_lower_case_dockerfile_copying_root_paths_is_built_from_the_root(
        self, tmp_path: Path
    ) -> None:
        root = write(tmp_path, {"docker/dockerfile": GO_DOCKERFILE, **GO_TREE})
        project = detect(root)
        assert builds(project) == [("docker/dockerfile", ".", None)]
        assert "go.mod" in evidence(project, "docker/dockerfile")["context"]

    def test_a_dockerfile_copying_its_own_folder_keeps_it(self, tmp_path: Path) -> None:
        root = write(
            tmp_path, {"api/Dockerfile": "FROM alpine\nCOPY main.py .\n", "api/main.py": ""}
        )
        assert builds(detect(root)) == [("api/Dockerfile", "api", None)]

    def test_a_dockerignore_that_excludes_the_source_rules_that_context_out(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                "svc/Dockerfile": "FROM alpine\nCOPY config.yml /etc/\n",
                "svc/config.yml": "",
                "svc/.dockerignore": "config.yml\n",
                "config.yml": "",
            },
        )
        assert builds(detect(root)) == [("svc/Dockerfile", ".", None)]

    def test_dash_named_variants_are_dockerfiles(self, tmp_path: Path) -> None:
        root = write(tmp_path, {"Dockerfile-prod": "FROM alpine\n"})
        assert builds(detect(root)) == [("Dockerfile-prod", ".", None)]


WORKFLOW = """
on: {push: {tags: ["v*"]}}
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/login-action@v3
        with: {registry: ghcr.io}
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: |
            ghcr.io/acme/server
          tags: |
            type=semver,pattern={{version}}
      - uses: docker/build-push-action@v6
        with:
          context: .
          file: build/server/Dockerfile
          target: release
          platforms: linux/amd64,linux/arm64
          push: true
          tags: ${{ steps.meta.outputs.tags }}
"""


class TestTheRepositorysCi:
    def test_build_push_action_gives_every_field_with_its_line(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/release.yml": WORKFLOW,
                "build/server/Dockerfile": "FROM alpine AS release\n",
                "admin/Dockerfile": "FROM alpine\n",
                "compose.yaml": "services:\n  admin:\n    build: admin\n",
            },
        )
        project = detect(root)
        assert builds(project) == [("build/server/Dockerfile", ".", "release")]
        image = project.images[0]
        assert image.name == "server"
        assert image.references == ("ghcr.io/acme/server",)
        assert image.platforms == ("linux/amd64", "linux/arm64")
        assert image.registries == ("ghcr.io",)
        assert image.publisher == ".github/workflows/release.yml:17"
        assert ("target", "release", ".github/workflows/release.yml:17") in image.evidence
        assert "not the repository's CI" in left_out(project)["admin/Dockerfile"]

    def test_docker_build_in_run_and_a_matrix(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/ci.yml": """
                    on: push
                    jobs:
                      build:
                        strategy:
                          matrix:
                            service: [api, worker]
                        runs-on: ubuntu-latest
                        steps:
                          - run: |
                              docker build \\
                                -f services/${{ matrix.service }}/Dockerfile \\
                                -t ghcr.io/acme/${{ matrix.service }} .
                """,
                "services/api/Dockerfile": "FROM alpine\n",
                "services/worker/Dockerfile": "FROM alpine\n",
                "services/legacy/Dockerfile": "FROM alpine\n",
            },
        )
        project = detect(root)
        assert builds(project) == [
            ("services/api/Dockerfile", ".", None),
            ("services/worker/Dockerfile", ".", None),
        ]
        assert [i.name for i in project.images] == ["api", "worker"]

    def test_a_local_reusable_workflow_is_read_with_its_inputs(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/release.yml": """
                    on: push
                    jobs:
                      web:
                        uses: ./.github/workflows/image.yml
                        with: {dockerfile: web/Dockerfile, context: web}
                """,
                ".github/workflows/image.yml": """
                    on:
                      workflow_call:
                        inputs:
                          dockerfile: {type: string}
                          context: {type: string, default: .}
                    jobs:
                      build:
                        runs-on: ubuntu-latest
                        steps:
                          - uses: docker/build-push-action@v6
                            with:
                              context: ${{ inputs.context }}
                              file: ${{ inputs.dockerfile }}
                """,
                "web/Dockerfile": "FROM nginx\n",
                "Dockerfile": "FROM alpine\n",
            },
        )
        assert builds(detect(root)) == [("web/Dockerfile", "web", None)]

    def test_bake_action_with_a_workdir_and_targets(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/ci.yml": """
                    on: push
                    jobs:
                      bake:
                        runs-on: ubuntu-latest
                        steps:
                          - uses: docker/bake-action@v5
                            with:
                              workdir: deploy
                              files: bake.hcl
                              targets: release
                """,
                "deploy/bake.hcl": """
                    group "release" { targets = ["api"] }
                    target "api" { dockerfile = "api.Dockerfile" }
                    target "dev" { dockerfile = "dev.Dockerfile" }
                """,
                "deploy/api.Dockerfile": "FROM alpine\n",
                "deploy/dev.Dockerfile": "FROM alpine\n",
            },
        )
        assert builds(detect(root)) == [("deploy/api.Dockerfile", "deploy", None)]

    def test_gitlab_kaniko_and_package_builders(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".gitlab-ci.yml": """
                    image-build:
                      variables: {DOCKERFILE: app/Containerfile}
                      script:
                        - /kaniko/executor --context $CI_PROJECT_DIR --dockerfile $DOCKERFILE
                            --destination $CI_REGISTRY_IMAGE:$CI_COMMIT_TAG
                    debs:
                      script:
                        - docker buildx build -f packaging/deb.Dockerfile
                            --output type=local,dest=out .
                """,
                "app/Containerfile": "FROM alpine\n",
                "packaging/deb.Dockerfile": "FROM debian\n",
            },
        )
        project = detect(root)
        assert builds(project) == [("app/Containerfile", ".", None)]
        assert "package or artifact builder" in left_out(project)["packaging/deb.Dockerfile"]

    def test_a_workflow_mab_wrote_is_not_evidence(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/mab.yml": "# Managed by `mab init-ci`\non: push\njobs:\n"
                "  b:\n    runs-on: x\n    steps:\n"
                "      - run: docker build -f other/Dockerfile .\n",
                "other/Dockerfile": "FROM alpine\nCOPY a .\n",
                "other/a": "",
                "Dockerfile": "FROM alpine\n",
            },
        )
        assert builds(detect(root)) == [
            ("Dockerfile", ".", None),
            ("other/Dockerfile", "other", None),
        ]


class TestBuildScripts:
    def test_makefile_variables_and_package_json_scripts(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "Makefile": "DOCKERFILE ?= docker/Dockerfile.release\n"
                "image:\n\tdocker build -f $(DOCKERFILE) -t acme/app .\n",
                "docker/Dockerfile.release": "FROM alpine\n",
                "docker/Dockerfile.debug": "FROM alpine\n",
                "frontend/package.json": (
                    '{\n  "scripts": {\n    "image": "docker build -t acme/ui ."\n  }\n}\n'
                ),
                "frontend/Dockerfile": "FROM node\n",
            },
        )
        project = detect(root)
        assert builds(project) == [
            ("docker/Dockerfile.release", ".", None),
            ("frontend/Dockerfile", "frontend", None),
        ]
        assert evidence(project, "frontend/Dockerfile")["dockerfile"].endswith("package.json:3")


class TestNames:
    def test_two_clones_in_differently_named_folders_give_the_same_project(
        self, tmp_path: Path
    ) -> None:
        files = {
            "Dockerfile": "FROM alpine\n",
            "api/Dockerfile": "FROM alpine\nCOPY x .\n",
            "api/x": "",
        }
        one = detect(write(tmp_path / "clone-one", files))
        two = detect(write(tmp_path / "other_name", files))
        assert one == two
        assert [i.name for i in one.images] == ["app", "api"]


class TestLockfiles:
    def test_only_the_lockfiles_the_dockerfile_copies_or_mounts_key_its_caches(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                "docker/Dockerfile": GO_DOCKERFILE
                + "RUN --mount=type=bind,source=tools/uv.lock,target=/uv.lock true\n",
                **GO_TREE,
                "tools/uv.lock": "",
                "tools/pyproject.toml": "",
                "web/package-lock.json": "{}",
                "web/package.json": "{}",
            },
        )
        image = detect(root).images[0]
        assert image.context == "."
        assert [lf.path for lf in image.lockfiles] == ["go.sum", "tools/uv.lock"]

    def test_a_dockerignored_lockfile_is_not_copied(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "Dockerfile": "FROM node\nCOPY . .\n",
                ".dockerignore": "legacy/\n",
                "package-lock.json": "{}",
                "legacy/package-lock.json": "{}",
            },
        )
        assert [lf.path for lf in detect(root).images[0].lockfiles] == ["package-lock.json"]


class TestExpressions:
    def test_ci_expressions_are_never_paths_or_names(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/ci.yml": """
                    on: push
                    jobs:
                      b:
                        runs-on: ubuntu-latest
                        steps:
                          - run: docker build -t ghcr.io/${{ github.repository_owner }}/x .
                          - id: meta
                            uses: docker/metadata-action@v5
                            with:
                              images: ${{ format('{0}/{1}', env.A, matrix.b) }}
                          - uses: docker/build-push-action@v6
                            with:
                              file: gone/Dockerfile
                              push: true
                              tags: ${{ steps.meta.outputs.tags }}
                """,
                "Dockerfile": "FROM alpine\n",
            },
        )
        project = detect(root)
        assert builds(project) == [("Dockerfile", ".", None)]
        assert [i.name for i in project.images] == ["app"]
        assert "gone/Dockerfile is not in the repository" in left_out(project)["gone/Dockerfile"]


class TestMoreCiShapes:
    def test_depot_build_push_action_and_a_pushed_test_image(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/release.yml": """
                    on: push
                    jobs:
                      b:
                        runs-on: ubuntu-latest
                        steps:
                          - uses: depot/build-push-action@v1
                            with: {file: ./docker/Dockerfile, push: true, tags: acme/app:1}
                          - run: docker build --push -t ghcr.io/acme/t -f docker/test/Dockerfile .
                """,
                "docker/Dockerfile": "FROM alpine\n",
                "docker/test/Dockerfile": "FROM alpine\n",
                "docs/Dockerfile": "FROM nginx\n",
            },
        )
        project = detect(root)
        assert builds(project) == [("docker/Dockerfile", ".", None)]
        assert project.images[0].references == ("acme/app",)
        assert "(its Dockerfile sits in test/)" in left_out(project)["docker/test/Dockerfile"]

    def test_a_script_is_run_from_where_its_dockerfile_finds_its_sources(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                "docker/release/build.sh": "docker build -f docker/release/Dockerfile .\n",
                "docker/release/Dockerfile": "FROM alpine\nCOPY src /src\n",
                "docker/release/docker/release/Dockerfile": "FROM alpine\nCOPY src /src\n",
                "src/main.c": "",
            },
        )
        image = next(i for i in detect(root).images if i.origin == "script")
        assert (image.dockerfile, image.context) == ("docker/release/Dockerfile", ".")

    def test_image_names_come_from_what_pushes_them_not_a_local_script(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/ci.yml": "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n"
                "      - uses: docker/build-push-action@v6\n        with: {push: true}\n",
                "deploy.sh": "docker build -t localhost:5000/dev-thing .\n",
                "Dockerfile": "FROM alpine\n",
            },
        )
        image = detect(root).images[0]
        assert image.references == () and image.name == "app"


class TestPackageManagers:
    def test_cache_dirs_from_env_and_bun(self, tmp_path: Path) -> None:
        from mab.generators.depcache import dep_caches

        root = write(
            tmp_path,
            {
                "Dockerfile": "FROM python:3.12\nENV UV_CACHE_DIR=/opt/uv-cache \\\n"
                "    BUN_INSTALL_CACHE_DIR=/opt/bun\nCOPY uv.lock bun.lock ./\n"
                "RUN --mount=type=cache,target=/opt/uv-cache uv sync --frozen\n"
                "RUN --mount=type=cache,target=/opt/bun/x bun install\n",
                "uv.lock": "",
                "bun.lock": "",
            },
        )
        image = detect(root).images[0]
        assert image.info is not None and image.info.runs == {"uv", "bun"}
        caches = {c.tool: c.key_files for c in dep_caches(image)}
        assert caches == {"uv": ("uv.lock",), "bun": ("bun.lock",)}

    def test_no_cache_note_for_a_tool_the_image_never_runs(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "Dockerfile": "FROM nginx\nCOPY . /usr/share/nginx/html\n",
                "package-lock.json": "{}",
                "go.sum": "",
                "sub/Dockerfile": "FROM golang\nCOPY go.sum .\nRUN go mod download\n",
            },
        )
        ecosystems = {i.dockerfile: i.ecosystems for i in detect(root).images}
        assert ecosystems == {"Dockerfile": (), "sub/Dockerfile": ("go",)}


class TestGoReleaser:
    def test_its_dockers_are_the_images_built_after_its_binary(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                ".goreleaser.yml": """
                    project_name: hello
                    builds:
                      - main: ./cmd/hello
                    dockers:
                      - dockerfile: release.Dockerfile
                        image_templates: ["acme/hello:{{ .Tag }}-amd64"]
                        build_flag_templates: ["--platform=linux/amd64"]
                      - dockerfile: release.Dockerfile
                        image_templates: ["acme/hello:{{ .Tag }}-arm64"]
                        build_flag_templates: ["--platform=linux/arm64"]
                """,
                "release.Dockerfile": "FROM scratch\nCOPY hello /\n",
                "Dockerfile": "FROM golang\nCOPY . .\nRUN go build ./cmd/hello\n",
                "Makefile": "image:\n\tdocker build -t acme/hello .\n",
                "cmd/hello/main.go": "package main\n",
            },
        )
        project = detect(root)
        assert builds(project) == [("release.Dockerfile", ".", None)]
        image = project.images[0]
        assert image.pre_build == "CGO_ENABLED=0 go build -o hello ./cmd/hello"
        assert image.platforms == ("linux/amd64", "linux/arm64")
        assert image.publisher is None  # CI runs GoReleaser: it is not a publisher by itself


class TestReleaseTags:
    def test_tag_patterns_follow_the_repositorys_tags(self, tmp_path: Path) -> None:
        from mab.config.settings import Settings
        from mab.generators.github import workflow

        root = write(
            tmp_path, {"Dockerfile": "FROM alpine\n", ".git/HEAD": "ref: refs/heads/main\n"}
        )
        assert detect(root).release_tags == ("v*",)  # no version tag yet
        write(root, {".git/refs/tags/1.4.0": "0" * 40 + "\n"})
        (root / ".git/packed-refs").write_text(f"{'1' * 40} refs/tags/1.3.2\n")
        project = detect(root)
        assert project.release_tags == ("[0-9]*",)
        assert workflow(project, Settings())["on"]["push"]["tags"] == ["[0-9]*"]
        write(root, {".git/refs/tags/v2.0.0": "0" * 40 + "\n"})
        assert detect(root).release_tags == ("v*", "[0-9]*")


class TestFromChains:
    def test_an_image_from_another_built_here_says_so(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "Makefile": "images:\n\tdocker build -t acme/base base\n"
                "\tdocker build -t acme/app -f app/Dockerfile app\n",
                "base/Dockerfile": "FROM alpine\n",
                "app/Dockerfile": "FROM acme/base:1 AS run\n",
            },
        )
        after = {i.name: i.after for i in detect(root).images}
        assert after == {"app": ("base",), "base": ()}


class TestCorpusShapes:
    def test_flavour_variants_ship_and_dev_variants_do_not(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "Dockerfile": "FROM debian\n",
                "Dockerfile.alpine": "FROM alpine\n",
                "Dockerfile-distroless": "FROM gcr.io/distroless/static\n",
                "Dockerfile.dev-alpine": "FROM alpine\n",
                "Dockerfile-tilt": "FROM alpine\n",
            },
        )
        assert [d for d, _, _ in builds(detect(root))] == [
            "Dockerfile",
            "Dockerfile-distroless",
            "Dockerfile.alpine",
        ]

    def test_a_wildcard_source_says_its_folder_is_in_the_context(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {"Docker/Dockerfile": "FROM php\nCOPY ./Docker/*.conf /etc/\n", "Docker/a.conf": ""},
        )
        assert builds(detect(root)) == [("Docker/Dockerfile", ".", None)]

    def test_when_bakes_default_writes_files_its_image_targets_are_the_images(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                "docker-bake.hcl": """
                    group "default" { targets = ["binaries"] }
                    target "binaries" {
                      target = "binaries"
                      output = ["./bin"]
                    }
                    target "image" {
                      inherits = ["binaries"]
                      output = ["type=image"]
                    }
                    target "lint" {
                      dockerfile = "hack/lint.Dockerfile"
                      output = ["type=cacheonly"]
                    }
                """,
                "Dockerfile": "FROM alpine AS binaries\n",
                "hack/lint.Dockerfile": "FROM golangci/golangci-lint\n",
            },
        )
        assert builds(detect(root)) == [("Dockerfile", ".", "binaries")]

    def test_a_cargo_binary_is_built_first_and_windows_images_are_left_out(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                "Cargo.toml": '[package]\nname = "serve"\nversion = "0.1.0"\n',
                "Containerfile": "FROM scratch\nCOPY serve /serve\n",
                "windows/Dockerfile": "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n",
            },
        )
        project = detect(root)
        assert builds(project) == [("Containerfile", ".", None)]
        assert project.images[0].pre_build == (
            "cargo build --release --locked --bin serve && cp target/release/serve serve"
        )
        assert "a Windows image" in left_out(project)["windows/Dockerfile"]

    def test_a_container_engine_in_a_variable_builds_too(self, tmp_path: Path) -> None:
        root = write(
            tmp_path,
            {
                "utils/build.sh": '"$ENGINE" build --file=./container/dist.dockerfile .\n',
                "container/dist.dockerfile": "FROM alpine\nCOPY utils /u\n",
                "container/builder.dockerfile": "FROM alpine\n",
            },
        )
        assert ("container/dist.dockerfile", ".", None) in builds(detect(root))


class TestWorkflowsThatTest:
    def test_a_test_workflows_builds_are_no_evidence(self, tmp_path: Path) -> None:
        job = "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: docker build {}\n"
        root = write(
            tmp_path,
            {
                ".github/workflows/integration-tests.yml": job.format("-f tools/x/Dockerfile ."),
                ".github/workflows/release.yml": job.format("-t acme/app --push release"),
                "release/Dockerfile": "FROM alpine\n",
                "tools/x/Dockerfile": "FROM alpine\n",
                "Dockerfile": "FROM alpine\n",
            },
        )
        assert builds(detect(root)) == [("release/Dockerfile", "release", None)]

    def test_a_context_the_job_makes_is_replaced_by_the_dockerfiles_own(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                ".github/workflows/release.yml": "on: push\njobs:\n  b:\n    runs-on: x\n"
                "    steps:\n      - run: docker build -f Containerfile --push artifacts\n",
                "Containerfile": "FROM alpine\nCOPY README.md /\n",
                "README.md": "",
            },
        )
        assert builds(detect(root)) == [("Containerfile", ".", None)]

    def test_when_every_service_has_a_profile_only_the_extras_are_left_out(
        self, tmp_path: Path
    ) -> None:
        root = write(
            tmp_path,
            {
                "compose.yaml": "services:\n"
                "  app: {build: {context: ., target: app}, profiles: [app]}\n"
                "  old: {build: {context: ., target: old}, profiles: [deprecated]}\n",
                "Dockerfile": "FROM alpine AS app\nFROM alpine AS old\n",
            },
        )
        assert builds(detect(root)) == [("Dockerfile", ".", "app")]


def test_tooling_folders_scripts_and_dockerfiles_are_not_images(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "tools/gen.sh": "docker build -t gen tools/gen\n",
            "tools/gen/Dockerfile": "FROM alpine\n",
            "hack/lint.Dockerfile": "FROM alpine\n",
            "Dockerfile": "FROM alpine\n",
        },
    )
    assert builds(detect(root)) == [("Dockerfile", ".", None)]
