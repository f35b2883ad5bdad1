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
from tests.engine_env import PLATFORMS, engine_available
from tests.lint.conftest import FIXTURE_NAMES, Run, copy_fixture
from tests.lint.conftest import mab as mab
from tests.lint.standin import prepare_context, standin_dockerfile

pytestmark = pytest.mark.engine
# Fixtures whose fix changes nothing need no build.
UNCHANGED = {"clean", "dockerignore-git", "dockerignore-negation", "generated", "ignored"}
UNCHANGED |= {"templated"}  # reported, never edited
Entry = tuple[str, str, int, int, int, str]
Tree = dict[str, dict[str, Entry]]  # per stage: path -> entry


@pytest.fixture(autouse=True)
def _engine() -> None:
    ok, reason = engine_available()
    if not ok:
        pytest.skip(reason)


def build_tree(context: Path, dockerfile: Path, out: Path) -> dict[str, Entry]:
    """Build `dockerfile` for both platforms (linux/arm64 under QEMU); read the file tree of
    the tar export, paths prefixed by the platform (`/linux_arm64/...`)."""
    argv = ["docker", "buildx", "build", "--progress=plain", "--output", f"type=tar,dest={out}"]
    argv += ["--platform", ",".join(PLATFORMS)]
    result = subprocess.run(
        [*argv, "-f", str(dockerfile), str(context)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
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


def stage_names(text: str) -> list[str]:
    """The fixture's stages, by name (the unnamed ones get `mab-stage-N`)."""
    names = []
    for n, ins in enumerate(i for i in read_dockerfile(text).instructions if i.keyword == "FROM"):
        words = ins.args.split()
        named = len(words) >= 3 and words[-2].lower() == "as"
        names.append(words[-1] if named else f"mab-stage-{n}")
    return names


def collected(text: str) -> str:
    """`text` with every stage named and one last stage holding each stage's whole file tree
    under `/<stage>/` (COPY --from keeps modes, owners and links): one build per platform
    set shows every stage."""
    names = stage_names(text)
    lines = text.splitlines(keepends=True)
    eol = "\r\n" if "\r\n" in text else "\n"
    froms = [ins for ins in read_dockerfile(text).instructions if ins.keyword == "FROM"]
    for n, ins in enumerate(froms):
        if names[n].startswith("mab-stage-"):
            lines[ins.first] = lines[ins.first].rstrip("\r\n") + f" AS {names[n]}{eol}"
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += eol
    lines.append(f"FROM scratch AS mab-all{eol}")
    lines += [
        f"COPY --from={name} / /{name}/{eol}" for name in names if not name.startswith("standin-")
    ]
    return "".join(lines)


def _standin_trees(repo: Path, tmp: Path, original: str, fixed: str) -> tuple[Tree, Tree]:
    """Per platform and stage, the file trees built from `original` and from `fixed`."""
    prepare_context(repo)
    names = [n for n in stage_names(standin_dockerfile(original)) if not n.startswith("standin-")]
    trees: list[Tree] = []
    for label, text in (("before", original), ("after", fixed)):
        dockerfile = tmp / f"{label}.Dockerfile"
        dockerfile.write_text(collected(standin_dockerfile(text)), encoding="utf-8", newline="")
        tree = build_tree(repo, dockerfile, tmp / f"{label}.tar")
        by_stage: Tree = {}
        for platform in PLATFORMS:
            for name in names:
                top = f"/{platform.replace('/', '_')}/{name}"
                by_stage[f"{platform} {name}"] = {
                    path[len(top) :] or "/": entry
                    for path, entry in tree.items()
                    if path == top or path.startswith(top + "/")
                }
        trees.append(by_stage)
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
        assert before[stage], f"stage {stage}: no files built"
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
    stage = f"{PLATFORMS[1]} build"
    found = differences(comparable(before[stage], caches), comparable(after[stage], caches))
    assert any("node_modules" in line for line in found), found


def test_the_comparison_catches_an_arg_moved_below_xx(tmp_path: Path) -> None:
    """ARG TARGETPLATFORM moved below the RUN that calls xx-cargo (what an ARG move that only
    looks for `$TARGETPLATFORM` does): the arm64 image gets the build platform's binary, and
    the comparison says so."""
    repo = copy_fixture("xx-cross", tmp_path)
    original = (repo / "Dockerfile").read_bytes().decode()
    wrong = original.replace("ARG TARGETPLATFORM\n", "").replace(
        "FROM debian:bookworm-slim", "ARG TARGETPLATFORM\n\nFROM debian:bookworm-slim"
    )
    assert wrong != original
    before, after = _standin_trees(repo, tmp_path, original, wrong)
    stage = f"{PLATFORMS[1]} build"
    found = differences(before[stage], after[stage])
    assert any("aarch64" in line for line in found), found
    same = f"{PLATFORMS[0]} build"
    assert differences(before[same], after[same]) == []
