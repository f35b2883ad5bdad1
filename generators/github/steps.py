"""Building blocks of a GitHub Actions step, with mab's conventions baked in.

Every step gets an `id` starting with `mab-` (the round-trip merger tells mab's steps from the
user's by it) and keys in the order a reader expects: id, name, if, uses/run, with, env.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from mab.config.distribution import ActionRef
from mab.files.yamlio import to_commented

from .pins import UNPINNED_REASON, uses

ID_PREFIX = "mab-"


@dataclass(frozen=True)
class Ignore:
    """A zizmor finding accepted on purpose, said beside the line it is about."""

    rule: str
    reason: str


def commented_map(data: Mapping[str, Any]) -> CommentedMap:
    """`data` as a ruamel map (nested dicts and lists converted), ready for comments."""
    out = to_commented(dict(data))
    assert isinstance(out, CommentedMap)
    return out


def _check_id(step_id: str) -> None:
    if not step_id.startswith(ID_PREFIX):
        raise ValueError(f"step id {step_id!r} must start with {ID_PREFIX!r}")


def action_step(
    step_id: str,
    name: str,
    action: str,
    *,
    pin: bool,
    with_: Mapping[str, Any] | None = None,
    if_: str | None = None,
    env: Mapping[str, str] | None = None,
    ignore: Ignore | None = None,
) -> CommentedMap:
    """A `uses:` step; beside its `uses:` line go the pinned version and the zizmor findings
    mab accepts there on purpose, each with its reason."""
    _check_id(step_id)
    ref = uses(action, pin=pin)
    step: dict[str, Any] = {"id": step_id, "name": name}
    if if_:
        step["if"] = if_
    step["uses"] = ref.ref
    if with_:
        step["with"] = dict(with_)
    if env:
        step["env"] = dict(env)
    out = commented_map(step)
    ignores = [i for i in (ignore,) if i]
    if not ref.pinned:
        ignores.insert(0, Ignore("unpinned-uses", UNPINNED_REASON))
    parts = [ref.version] if ref.version else []
    if ignores:
        rules = ",".join(i.rule for i in ignores)
        parts.append(f"zizmor: ignore[{rules}] " + "; ".join(i.reason for i in ignores))
    comment = "  # ".join(parts)
    if comment:
        out.yaml_add_eol_comment(comment, "uses")
    return out


def run_step(
    step_id: str,
    name: str,
    script: str,
    *,
    if_: str | None = None,
    env: Mapping[str, str] | None = None,
    working_directory: str | None = None,
) -> CommentedMap:
    """A `run:` step. Values from contexts go through `env`, never into the script itself."""
    _check_id(step_id)
    if "${{" in script:
        raise ValueError(f"step {step_id}: pass expressions through env, not inside run")
    step: dict[str, Any] = {"id": step_id, "name": name}
    if if_:
        step["if"] = if_
    if working_directory:
        step["working-directory"] = working_directory
    if env:
        step["env"] = dict(env)
    step["run"] = script.strip("\n") + "\n"
    return commented_map(step)


def mab_action_step(
    step_id: str, name: str, action: ActionRef, *, with_: Mapping[str, Any]
) -> CommentedMap:
    """A step using mab's own composite action; beside it, where its reference came from."""
    _check_id(step_id)
    out = commented_map({"id": step_id, "name": name, "uses": action.uses, "with": dict(with_)})
    reason = f"mab's own action, from {action.origin}"
    out.yaml_add_eol_comment(f"zizmor: ignore[unpinned-uses] {reason}", "uses")
    return out


PRE_BUILD_SCRIPT = 'bash -euo pipefail -c "$MAB_PRE_BUILD"'


def pre_build(keys: frozenset[str]) -> list[CommentedMap]:
    """The image's `pre-build:` command (`.mab.yml`), run in the checkout before its build;
    no step when no image has one."""
    if "pre-build" not in keys:
        return []
    return [
        run_step(
            "mab-pre-build",
            "Make what the Dockerfile copies (pre-build)",
            PRE_BUILD_SCRIPT,
            if_="matrix.image.pre-build != ''",
            env={"MAB_PRE_BUILD": "${{ matrix.image.pre-build }}"},
        )
    ]
