"""Merge the evidence into images. Pure.

Builds are grouped by (Dockerfile, context, target); each group is one image whose fields come
from its strongest evidence, each field with where it came from. Which groups are images:
- when the repository's own CI builds images, those are the images (what it builds is what the
  maintainers ship; anything else is built only by hand), and of them the ones it pushes when
  it pushes any (the others are test builds);
- else every image a bake file, build script or compose file builds; when no bake or compose
  file builds one, also
- the Dockerfiles found by name (`select.choose`), each with the context its COPY/ADD
  sources resolve from.
Never: a dev container's Dockerfile, a test runner, a build that writes files instead of an
image (`--output type=local`, package builders). Each one left out is said with its reason.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mab.detection.context import Tree, infer_context
from mab.detection.evidence import LABELS, PUBLISHERS, RANK, Build, image_name, slug
from mab.detection.project import Image, Skipped
from mab.detection.select import choose, runs_tests


@dataclass
class Merged:
    images: list[Image] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def merge(
    builds: list[Build],
    dockerfiles: list[str],
    scripts: dict[str, str],
    tree: Tree,
    dev_reason: Callable[[str], str | None],
    local_copies: Callable[[str], tuple[str, ...]],
    asked: frozenset[str] = frozenset(),
) -> Merged:
    """`asked`: Dockerfiles and image names the user gives in `.mab.yml` (never left out)."""
    out = Merged()
    groups: dict[tuple[str, str, str], list[Build]] = {}
    said: set[str] = set()
    for build in [b for b in builds if not _probe(b)]:  # what tests build says nothing
        if (
            build.context != "."
            and not tree.exists(build.context)
            and tree.exists(build.dockerfile)
        ):
            context, _ = infer_context(build.dockerfile, local_copies(build.dockerfile), tree)
            build = replace(build, context=context)  # the job makes that folder: build from ours
        why = _not_an_image(build, dev_reason)
        if why is None and not tree.exists(build.dockerfile):
            why = f"{build.dockerfile} is not in the repository (made by the build?)"
        if why is not None and not {build.dockerfile, slug(build.name or "")} & asked:
            out.skipped.append(
                Skipped(build.dockerfile, f"{build.where} builds it: {why}", build.name)
            )
            said.add(build.dockerfile)
            continue
        groups.setdefault(build.key, []).append(build)
    ordered = sorted(groups.values(), key=lambda g: min(RANK[b.kind] for b in g))
    ci = [g for g in ordered if any(RANK[b.kind] == 0 for b in g)]
    pushed = [g for g in ci if any(b.push and RANK[b.kind] == 0 for b in g)]
    chosen = pushed or ci or ordered
    for group in ordered:
        if group not in chosen:
            best = _strongest(group)
            if group in ci:
                reason = f"the repository's CI builds it ({best.where}) but never pushes it"
            else:
                reason = (
                    f"only {LABELS[best.kind]} builds it ({best.where}), not the repository's CI"
                )
            out.skipped.append(Skipped(best.dockerfile, reason, best.name))
    out.images = [_image(sorted(g, key=lambda b: (RANK[b.kind], not b.push))) for g in chosen]
    built = {b.dockerfile for g in ordered for b in g} | said
    kept = []
    for path in dockerfiles:
        dev = dev_reason(path)
        if dev is not None and path not in asked:
            out.skipped.append(Skipped(path, dev))
        else:
            kept.append(path)
    # Build scripts add images; CI, bake and compose files say which images there are.
    exclusive = any(RANK[b.kind] != RANK["script"] for i in chosen for b in i)
    picked, left_out = choose(kept, built, exclusive, scripts)
    for path, reason in left_out:
        if path not in built:
            out.skipped.append(Skipped(path, reason))
    for path in picked:
        context, why = infer_context(path, local_copies(path), tree)
        evidence = (("dockerfile", path, f"found by {LABELS['dockerfile']}"),
                    ("context", context, why))  # fmt: skip
        out.images.append(Image("", context, path, evidence=evidence))
    return out


_PROBE_WORDS = frozenset(
    ["test", "tests", "e2e", "integration", "lint", "check", "checks", "validate", "scan",
     "trivy", "codeql", "pr", "preview"]
)  # fmt: skip


def _probe(build: Build) -> bool:
    """A build in a workflow that tests (its file's name says so), not one that ships."""
    if build.kind != "workflow":
        return False
    name = posixpath.basename(build.where.split(":", 1)[0]).rsplit(".", 1)[0].lower()
    return any(w in _PROBE_WORDS for w in re.split(r"[^a-z0-9]+", name))


def _plain_args(build: Build) -> tuple[tuple[str, str], ...]:
    """Build args with literal values: one a CI expression or shell variable fills in
    (`${{ github.ref_name }}`, `$VERSION`) has no value mab could write. (Compose and bake
    values are interpolated already: a `$` left in them is literal.)"""
    if build.kind in ("compose", "bake"):
        return build.args
    return tuple((k, v) for k, v in build.args if "$" not in v)


def _strongest(group: list[Build]) -> Build:
    return min(group, key=lambda b: (RANK[b.kind], not b.push))


def _not_an_image(build: Build, dev_reason: Callable[[str], str | None]) -> str | None:
    dev = dev_reason(build.dockerfile)
    if dev is not None:
        return dev
    if build.artifacts:
        return "it writes files (--output), not an image: a package or artifact builder"
    if build.profiles:
        return f"only in profile(s) {', '.join(build.profiles)}: an optional extra"
    why = runs_tests(build.name or "", build.dockerfile)
    if why is not None:
        return f"not an image that ships ({why})" if "sits in" in why else f"a test runner ({why})"
    return None


def _image(group: list[Build]) -> Image:
    """One image from its builds, strongest first; each field from the first that gives it."""
    first = group[0]
    strong = [b for b in group if RANK[b.kind] == RANK[first.kind]]
    platforms = tuple(dict.fromkeys(p for b in strong for p in b.platforms))
    evidence: list[tuple[str, str, str]] = [
        ("dockerfile", first.dockerfile, first.where),
        ("context", first.context, first.where),
    ]
    for name in ("target", "args", "platforms", "images", "tags", "registries"):
        giver = next((b for b in group if getattr(b, name) and (b.push or name != "images")), None)
        if giver is None:
            continue
        value = _plain_args(giver) if name == "args" else getattr(giver, name)
        if name == "platforms":
            value = platforms
        shown = (
            value
            if isinstance(value, str)
            else ", ".join(f"{v[0]}={v[1]}" if isinstance(v, tuple) else str(v) for v in value)
        )
        if shown:
            evidence.append((name, shown, giver.where))
    pusher = next((b for b in group if b.push and b.kind in PUBLISHERS), None)
    named = next(  # from evidence as strong as the first: a local script's tag is no name
        (
            b
            for b in group
            if b.name and not set("${}") & set(b.name) and RANK[b.kind] == RANK[first.kind]
        ),
        None,
    )
    references = next((b.images for b in group if b.images and b.push), ())
    references = tuple(r for r in references if "$" not in r and "{" not in r)
    called = image_name(references[0]) if references else (named.name if named else None)
    if named is not None and called:
        evidence.append(("name", called, named.where))
    return Image(
        name=called or "",
        context=first.context,
        dockerfile=first.dockerfile,
        origin=first.kind,
        target=first.target or next((b.target for b in group if b.target), None),
        args=next((_plain_args(b) for b in group if b.args), ()),
        evidence=tuple(evidence),
        references=references,
        local_tags=tuple(dict.fromkeys(t for b in group for t in b.images)),
        platforms=platforms,
        tags=next((b.tags for b in group if b.tags), ()),
        registries=next((b.registries for b in group if b.registries), ()),
        publisher=pusher.where if pusher else None,
    )
