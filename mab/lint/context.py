"""What the linter reads from the build context besides the Dockerfile: `.dockerignore`, which
lockfiles exist, and whether an install needs more than its manifest (install scripts,
local requirements). A missing context answers "unknown", which turns automatic fixes off."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

from mab.files.reader import UnreadableFileError, read_text

# Files each tool's install reads, in the order a COPY should list them.
MANIFESTS: dict[str, tuple[str, ...]] = {
    "npm": ("package.json", "package-lock.json", "npm-shrinkwrap.json"),
    "yarn": ("package.json", "yarn.lock"),
    "pnpm": ("package.json", "pnpm-lock.yaml"),
    "go": ("go.mod", "go.sum"),
}
_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "prepublish")
_LOCAL_REQUIREMENT = (
    *("-e", "--editable", "-r", "--requirement", "-c", "--constraint", ".", "/", "~"),
    *("-f", "--find-links", "--no-index", "--src"),
)
_DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "overrides")
# A dependency a node install reads from the context: a tarball or folder by path.
_LOCAL_NODE_SPEC = re.compile(r"(?:^|[\"'\s@])(?:file|link|portal|workspace):|\.tgz\b")


@dataclass(frozen=True)
class Context:
    root: Path | None  # the build context directory; None when unknown
    dockerfile_name: str = "Dockerfile"

    def exists(self, rel: str) -> bool:
        return self.root is not None and _inside(rel) and (self.root / rel).exists()

    def read(self, rel: str) -> str | None:
        if self.root is None or not _inside(rel):
            return None
        try:
            return read_text(self.root / rel, where=rel, strict=False)
        except (OSError, UnreadableFileError):
            return None

    def dockerignore(self) -> str | None:
        """The ignore file BuildKit uses: `<Dockerfile>.dockerignore` first, then
        `.dockerignore`."""
        own = self.read(f"{self.dockerfile_name}.dockerignore")
        return own if own is not None else self.read(".dockerignore")

    def lets_git_in(self) -> bool | None:
        """True when the context's ignore file does not exclude `.git` (None: no context).
        An explicit `!.git` negation lets it in on purpose: not a finding."""
        if self.root is None:
            return None
        text = self.dockerignore()
        return True if text is None else not _excluded(text, ".git") and not _negates_git(text)

    def manifest_only(self, tool: str, requirement_file: str | None = None) -> tuple[str, ...]:
        """The files an install of `tool` reads, when it reads nothing else; () when it may
        (install scripts, local requirements, no context, a node_modules in the context)."""
        if self.root is None:
            return ()
        if tool == "pip":
            return self._requirements_only(requirement_file)
        names = MANIFESTS.get(tool)
        if not names:
            return ()
        present = tuple(n for n in names if self.exists(n))
        if len(present) < 2:
            return ()
        if tool == "go":
            return () if self._go_reads_local() else present
        if self.exists("pnpm-workspace.yaml") or self._context_has("node_modules"):
            return ()
        try:
            package = json.loads(self.read("package.json") or "")
        except ValueError:
            return ()
        scripts = package.get("scripts") if isinstance(package, dict) else None
        if isinstance(scripts, dict) and any(s in scripts for s in _LIFECYCLE):
            return ()
        if isinstance(package, dict) and package.get("workspaces"):
            return ()
        if _local_node_dependency(package) or any(
            _LOCAL_NODE_SPEC.search(self.read(name) or "") for name in present[1:]
        ):
            return ()
        if self.exists(".yarnrc.yml") or self.exists(".pnpmfile.cjs"):
            return ()
        # The project's registry settings go along with the manifest.
        return present + tuple(n for n in (".npmrc", ".yarnrc") if self.exists(n))

    def _go_reads_local(self) -> bool:
        """A go.work, or a `replace` in go.mod pointing at a folder of the context."""
        if self.exists("go.work"):
            return True
        text = self.read("go.mod") or ""
        return re.search(r"=>\s*\.{1,2}/|=>\s*/", text) is not None

    def _context_has(self, name: str) -> bool:
        if not self.exists(name):
            return False
        text = self.dockerignore()
        return text is None or not _excluded(text, name)

    def _requirements_only(self, requirement_file: str | None) -> tuple[str, ...]:
        if requirement_file is None or "$" in requirement_file:
            return ()
        text = self.read(requirement_file)
        if text is None:
            return ()
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if line.startswith(_LOCAL_REQUIREMENT) or "file:" in line or " @ ." in line:
                return ()
        return (requirement_file,)


def _inside(rel: str) -> bool:
    """A relative path that stays in the context (no absolute path, no `..`)."""
    return not rel.startswith(("/", "~")) and ".." not in rel.replace("\\", "/").split("/")


def _local_node_dependency(package: object) -> bool:
    if not isinstance(package, dict):
        return False
    for field in _DEPENDENCY_FIELDS:
        specs = package.get(field)
        if not isinstance(specs, dict):
            continue
        for spec in specs.values():
            text = spec if isinstance(spec, str) else json.dumps(spec)
            if _LOCAL_NODE_SPEC.search(text) or text.startswith((".", "/", "~")):
                return True
    return False


def _negates_git(ignore_text: str) -> bool:
    """An explicit `!.git` (or `!.git/...`) line: the build reads git metadata on purpose."""
    for raw in ignore_text.splitlines():
        line = raw.strip()
        if line.startswith("!"):
            pattern = line[1:].strip().lstrip("/").removeprefix("./").removeprefix("**/")
            if pattern == ".git" or pattern.startswith(".git/"):
                return True
    return False


def _excluded(ignore_text: str, path: str) -> bool:
    """Whether `.dockerignore` rules exclude `path` (the last matching rule wins)."""
    excluded = False
    for raw in ignore_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip().lstrip("/").removeprefix("./").rstrip("/")
        candidates = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(path, c) for c in candidates if c):
            excluded = not negate
    return excluded
