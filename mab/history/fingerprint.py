"""Each step's inputs fingerprint (`StepInputs`): the plan of the Dockerfile (`mab.history.plan`)
plus a digest of every build-context file a COPY/ADD takes, honouring `.dockerignore`.

`Fingerprinter(context, dockerfile, build_args)` reads the Dockerfile and hashes sources once per
build (files are read before the build starts); `inputs(platform, from_names)` gives every
step's `StepInputs` for one platform, where `from_names` maps the FROM steps' ids to the names
BuildKit gave them (`FROM busybox:1@sha256:...`), so a base image that moved changes the chain.
A file's digest is the first 16 hex digits of its content's SHA-256, with `+x` when it is
executable (BuildKit's cache key sees the mode); a symlink is hashed by its target.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from mab.errors import UserError
from mab.files.reader import read_text
from mab.history.dockerignore import DockerIgnore, load, pattern_regex
from mab.history.plan import PlannedStep, parts_digest, plan_dockerfile
from mab.history.record import StepInputs

MAX_LISTED_FILES = 2000  # per step; beyond, only the count and the digest over all are kept
MAX_CONTEXT_FILES = 200_000
_GLOB = frozenset("*?[")


class Fingerprinter:
    def __init__(
        self, context: Path, dockerfile: Path, build_args: Mapping[str, str] | None = None
    ) -> None:
        self.context = context
        self.build_args = dict(build_args or {})
        try:
            self.text = read_text(dockerfile, strict=False)
        except (OSError, UserError):  # the build itself says what is wrong with it
            self.text = ""
        self.ignore: DockerIgnore = load(context, dockerfile)
        self._hashes: dict[str, str] = {}
        self._files: list[str] | None = None
        self._plans: dict[str, dict[str, PlannedStep]] = {}
        self._sources: dict[tuple[str, ...], tuple[tuple[str, str], ...] | None] = {}
        self.prepare()

    def prepare(self) -> None:
        """Hash every context source named by the Dockerfile now (before the build runs)."""
        for step in self.plan("").values():
            if step.sources is not None:
                self._files_of(step.sources)

    def plan(self, platform: str) -> dict[str, PlannedStep]:
        if platform not in self._plans:
            self._plans[platform] = plan_dockerfile(self.text, self.build_args, platform)
        return self._plans[platform]

    def inputs(self, platform: str, from_names: Mapping[str, str]) -> dict[str, StepInputs]:
        plan = self.plan(platform)
        out: dict[str, StepInputs] = {}

        def resolve(sid: str) -> StepInputs | None:
            if sid in out:
                return out[sid]
            step = plan.get(sid)
            if step is None:
                return None
            parents = [p for p in (resolve(p) for p in step.parents) if p is not None]
            own = step.own
            if step.keyword == "FROM" and sid in from_names:
                own = parts_digest("FROM", from_names[sid])
            files = self._files_of(step.sources) if step.sources is not None else None
            files_digest = _files_digest(files) if files is not None else ""
            own = parts_digest(own, files_digest)
            complete = step.complete and all(p.complete for p in parents)
            listed = files if files is None or len(files) <= MAX_LISTED_FILES else None
            out[sid] = StepInputs(
                digest=parts_digest(own, *(p.digest for p in parents)),
                own=own,
                args=step.args,
                files=listed,
                files_digest=files_digest,
                file_count=len(files) if files is not None else 0,
                parents=step.parents,
                complete=complete,
            )
            return out[sid]

        for sid in plan:
            resolve(sid)
        return out

    # ------------------------------------------------------------------ the build context

    def _context_files(self) -> list[str]:
        if self._files is None:
            self._files = sorted(self._walk())
        return self._files

    def _walk(self) -> Iterator[str]:
        count = 0
        exceptions = self.ignore.has_exceptions
        for folder, dirs, files in os.walk(self.context):
            rel = os.path.relpath(folder, self.context)
            rel = "" if rel == "." else rel.replace(os.sep, "/")
            kept = []
            for d in dirs:
                path = f"{rel}/{d}" if rel else d
                if exceptions or not self.ignore.excluded(path):
                    if (Path(folder) / d).is_symlink():
                        files.append(d)
                    else:
                        kept.append(d)
            dirs[:] = sorted(kept)
            for name in files:
                path = f"{rel}/{name}" if rel else name
                if not self.ignore.excluded(path):
                    count += 1
                    if count > MAX_CONTEXT_FILES:
                        return
                    yield path

    def _files_of(self, sources: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        key = sources
        cached = self._sources.get(key)
        if cached is not None:
            return cached
        chosen: dict[str, None] = {}
        for source in sources:
            for path in self._matching(source):
                chosen[path] = None
        result = tuple((p, self._hash(p)) for p in sorted(chosen))
        self._sources[key] = result
        return result

    def _matching(self, source: str) -> Iterator[str]:
        clean = posixpath.normpath(source.lstrip("/")) if source.strip("/") else "."
        if clean in (".", ""):
            yield from self._context_files()
            return
        if not (_GLOB & set(clean)):
            prefix = clean + "/"
            for path in self._context_files():
                if path == clean or path.startswith(prefix):
                    yield path
            return
        depth = clean.count("/") + 1
        compiled = re.compile(pattern_regex(clean))
        for path in self._context_files():
            parts = path.split("/")
            if len(parts) >= depth and compiled.fullmatch("/".join(parts[:depth])):
                yield path

    def _hash(self, rel: str) -> str:
        if rel in self._hashes:
            return self._hashes[rel]
        path = self.context / rel
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                value = "l:" + parts_digest(str(path.readlink()))
            elif not stat.S_ISREG(info.st_mode):  # a FIFO would block, a device never end
                value = f"special:{stat.S_IFMT(info.st_mode):o}"
            else:
                h = hashlib.sha256()
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        h.update(chunk)
                value = h.hexdigest()[:16] + ("+x" if info.st_mode & 0o111 else "")
        except OSError as exc:
            value = f"unreadable:{exc.errno}"
        self._hashes[rel] = value
        return value


def _files_digest(files: tuple[tuple[str, str], ...]) -> str:
    h = hashlib.sha256()
    for path, digest in files:
        h.update(f"{path}\0{digest}\n".encode())
    return h.hexdigest()[:16]
