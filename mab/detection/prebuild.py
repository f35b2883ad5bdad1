"""Dockerfiles that COPY what a checkout lacks: what makes it first, and the command to run
before the build (`pre-build:` in `.mab.yml`). Pure: the caller gives a `Tree`.

Recognised: a `dist/`, `build/` or `out/` that a `package.json` build script makes (with the
package manager its lockfile names); a Maven `target/` (`mvn package`), a Gradle `build/`
(`gradle build`); a binary a GoReleaser build makes (`go build` of the same main package, for the
runner's platform: a native job per platform builds each one's own).
"""

from __future__ import annotations

import json
import posixpath
import tomllib

from mab.detection.context import Tree
from mab.detection.goreleaser import FILES as GORELEASER_FILES
from mab.errors import UserError
from mab.files.yamlio import parse_data

_JS_OUTPUTS = ("dist", "build", "out", ".next", "public/build")
_NODE_TOOLS = (
    ("bun.lockb", "bun install --frozen-lockfile && bun run build"),
    ("bun.lock", "bun install --frozen-lockfile && bun run build"),
    ("pnpm-lock.yaml", "corepack enable && pnpm install --frozen-lockfile && pnpm run build"),
    ("yarn.lock", "corepack enable && yarn install --immutable && yarn run build"),
    ("package-lock.json", "npm ci && npm run build"),
)


def maker(missing: list[str], context: str, tree: Tree) -> tuple[str, str | None]:
    """(what makes the missing paths, the pre-build command or None) for paths a Dockerfile
    copies from `context` that the checkout lacks."""
    paths = [posixpath.normpath(posixpath.join(context, m.lstrip("/"))) for m in missing]
    for path in paths:
        made = _node(path, tree) or _java(path, tree) or _goreleaser(path, tree)
        made = made or _cargo(path, tree)
        if made is not None:
            return made
    if any(tree.exists(g) for g in GORELEASER_FILES):
        return "GoReleaser (its `dockers:` build this image from the binaries it makes)", None
    return "something outside the Dockerfile", None


def _goreleaser(path: str, tree: Tree) -> tuple[str, str] | None:
    """A binary a GoReleaser build makes (`builds[].binary`, default the project's name),
    built the same way for the runner's platform: `go build -o PATH MAIN`."""
    for name in GORELEASER_FILES:
        text = tree.read(name)
        if text is None:
            continue
        try:
            data = parse_data(text, name)
        except UserError:
            return None
        if not isinstance(data, dict):
            return None
        builds = data.get("builds") or [data.get("build") or {}]  # `build:` in old versions
        for build in builds if isinstance(builds, list) else []:
            if not isinstance(build, dict):
                continue
            binary = str(build.get("binary") or data.get("project_name") or "")
            if binary and posixpath.basename(path) == binary and "{{" not in binary:
                folder = str(build.get("dir") or ".")
                main = str(build.get("main") or ".")
                target = posixpath.relpath(path, folder) if folder != "." else path
                command = f"CGO_ENABLED=0 go build -o {target} {main}"
                return f"GoReleaser's build of {binary} ({name})", _in(folder, command)
    return None


def _in(folder: str, command: str) -> str:
    return command if folder in ("", ".") else f"cd {folder} && {command}"


def _node(path: str, tree: Tree) -> tuple[str, str] | None:
    parts = path.split("/")
    for index in range(len(parts)):
        folder = "/".join(parts[:index])
        rest = "/".join(parts[index:])
        if not any(rest == o or rest.startswith(o + "/") for o in _JS_OUTPUTS):
            continue
        manifest = tree.read(posixpath.join(folder, "package.json"))
        if manifest is None or not _has_build_script(manifest):
            continue
        command = next(
            (c for lock, c in _NODE_TOOLS if tree.exists(posixpath.join(folder, lock))),
            "npm install && npm run build",
        )
        where = posixpath.join(folder, "package.json") if folder else "package.json"
        return f"the build script of {where}", _in(folder, command)
    return None


def _has_build_script(manifest: str) -> bool:
    try:
        data = json.loads(manifest)
    except ValueError:
        return False
    scripts = data.get("scripts") if isinstance(data, dict) else None
    return isinstance(scripts, dict) and isinstance(scripts.get("build"), str)


def _java(path: str, tree: Tree) -> tuple[str, str] | None:
    parts = path.split("/")
    for index, part in enumerate(parts):
        folder = "/".join(parts[:index])
        if part == "target" and tree.exists(posixpath.join(folder, "pom.xml")):
            wrapper = tree.exists(posixpath.join(folder, "mvnw"))
            command = ("./mvnw" if wrapper else "mvn") + " -B package -DskipTests"
            return f"Maven ({posixpath.join(folder, 'pom.xml')})", _in(folder, command)
        if part == "build" and any(
            tree.exists(posixpath.join(folder, f)) for f in ("build.gradle", "build.gradle.kts")
        ):
            wrapper = tree.exists(posixpath.join(folder, "gradlew"))
            command = ("./gradlew" if wrapper else "gradle") + " build -x test"
            return "Gradle", _in(folder, command)
    return None


def _cargo(path: str, tree: Tree) -> tuple[str, str] | None:
    """A binary of the root Cargo package (`[package] name`, `[[bin]] name`), built in release
    mode for the runner's platform and copied where the Dockerfile takes it from."""
    text = tree.read("Cargo.toml")
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    package = data.get("package")
    names = [package.get("name")] if isinstance(package, dict) else []
    names += [b.get("name") for b in data.get("bin") or [] if isinstance(b, dict)]
    binary = posixpath.basename(path)
    if binary not in names:
        return None
    command = f"cargo build --release --locked --bin {binary} && cp target/release/{binary} {path}"
    return f"cargo's build of {binary} (Cargo.toml)", command
