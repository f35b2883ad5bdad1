"""`mab lint --fix` never changes what the image contains: each fixture, made buildable on the
busybox-only engine by tests/lint/standin.py, is built before and after the fix on the real
BuildKit, and the two images' file trees (path, type, mode, owner, content, link target) are
compared, except the cache mounts' directories (what the fix moves out of the image on purpose)
and the empty directories BuildKit leaves as their mount points.

Why the comparison means something: the stand-in package managers need their manifest and
lockfile in the working directory (a reorder that forgot one fails the build), write what they
install where the real tool does and from what it read (the lockfile, the sources), and keep
downloads in the tool's cache directory as the real tool would (HOME, USER, the tool's
variables): a cache mount put anywhere but the cache directory would hide installed files and
show here. `test_the_comparison_catches_a_wrong_mount` proves it does.
"""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mab.lint.reader import mount_fields, read_dockerfile
from tests.engine_env import engine_available
from tests.lint.conftest import FIXTURE_NAMES, Run, copy_fixture
from tests.lint.conftest import mab as mab
from tests.lint.standin import prepare_context, standin_dockerfile

pytestmark = pytest.mark.engine
# Fixtures whose fix changes nothing need no build.
UNCHANGED = {"clean", "dockerignore-git", "ignored"}
Entry = tuple[str, str, int, int, int, str]
Tree = dict[str, dict[str, Entry]]  # per stage: path -> entry


@pytest.fixture(autouse=True)
def _engine() -> None:
    ok, reason = engine_available()
    if not ok:
        pytest.skip(reason)


def build_tree(context: Path, dockerfile: Path, out: Path, target: str | None) -> dict[str, Entry]:
    """Build a stage of `dockerfile` for the engine's own platform; read its file tree."""
    argv = ["docker", "buildx", "build", "--progress=plain", "--output", f"type=tar,dest={out}"]
    argv += ["--target", target] if target else []
    result = subprocess.run(
        [*argv, "-f", str(dockerfile), str(context)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    tree: dict[str, Entry] = {}
    with tarfile.open(out) as archive:
        for member in archive.getmembers():
            name = "/" + member.name.lstrip("./").rstrip("/")
            digest = ""
            if member.isfile():
                data = archive.extractfile(member)
                digest = hashlib.sha256(data.read() if data else b"").hexdigest()
            kind = "d" if member.isdir() else "l" if member.issym() else "f"
            tree[name] = (kind, member.linkname, member.mode, member.uid, member.gid, digest)
    return tree


def cache_targets(dockerfile_text: str) -> set[str]:
    targets = set()
    for ins in read_dockerfile(dockerfile_text).instructions:
        for spec in ins.flag_values("mount"):
            fields = mount_fields(spec)
            if fields.get("type") == "cache" and fields.get("target"):
                targets.add("/" + fields["target"].strip("/"))
    return targets


def comparable(tree: dict[str, Entry], caches: set[str]) -> dict[str, Entry]:
    def excluded(path: str, entry: Entry) -> bool:
        if any(path == c or path.startswith(c + "/") for c in caches):
            return True
        # a directory on the way to a mount point, made by BuildKit for the mount
        return entry[0] == "d" and any(c.startswith(path + "/") for c in caches)

    return {p: e for p, e in tree.items() if not excluded(p, e)}


def differences(a: dict[str, Entry], b: dict[str, Entry]) -> list[str]:
    out = [f"only before: {p}" for p in sorted(a.keys() - b.keys())]
    out += [f"only after: {p}" for p in sorted(b.keys() - a.keys())]
    out += [f"differs: {p} {a[p]} != {b[p]}" for p in sorted(a.keys() & b.keys()) if a[p] != b[p]]
    return out


def stage_targets(text: str) -> list[str | None]:
    """The fixture's named stages, and the final stage (None)."""
    names = []
    for ins in read_dockerfile(text).instructions:
        words = ins.args.split()
        if ins.keyword == "FROM" and len(words) >= 3 and words[-2].lower() == "as":
            names.append(words[-1])
    return [*names, None]


def _standin_trees(repo: Path, tmp: Path, original: str, fixed: str) -> tuple[Tree, Tree]:
    """Per stage, the file trees built from `original` and from `fixed`."""
    prepare_context(repo)
    trees: list[Tree] = []
    for label, text in (("before", original), ("after", fixed)):
        dockerfile = tmp / f"{label}.Dockerfile"
        dockerfile.write_text(standin_dockerfile(text), encoding="utf-8", newline="")
        trees.append(
            {
                str(target): build_tree(repo, dockerfile, tmp / f"{label}-{target}.tar", target)
                for target in stage_targets(original)
            }
        )
    return trees[0], trees[1]


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if n not in UNCHANGED])
def test_fix_keeps_the_image(name: str, tmp_path: Path, mab: Callable[..., Run]) -> None:
    repo = copy_fixture(name, tmp_path)
    original = (repo / "Dockerfile").read_bytes().decode()
    assert mab("lint", "--fix", str(repo / "Dockerfile"))[0] in (0, 1)
    fixed = (repo / "Dockerfile").read_bytes().decode()
    assert fixed != original
    before, after = _standin_trees(repo, tmp_path, original, fixed)
    caches = cache_targets(fixed)
    assert caches, "the fix added no cache mount to compare around"
    for stage in before:
        found = differences(comparable(before[stage], caches), comparable(after[stage], caches))
        assert found == [], f"stage {stage}"


def test_the_comparison_catches_a_wrong_mount(tmp_path: Path) -> None:
    """A cache mount over an install directory (node_modules) instead of ~/.npm changes the
    image, and the comparison says so."""
    repo = copy_fixture("npm", tmp_path)
    original = (repo / "Dockerfile").read_bytes().decode()
    mount = "--mount=type=cache,target=/app/node_modules"
    wrong = original.replace("RUN npm ci", f"RUN {mount} npm ci")
    before, after = _standin_trees(repo, tmp_path, original, wrong)
    caches = {"/root/.npm"}
    found = differences(comparable(before["build"], caches), comparable(after["build"], caches))
    assert any("node_modules" in line for line in found), found
