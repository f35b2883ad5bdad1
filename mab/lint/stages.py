"""Walk a Dockerfile's stages: which instructions each holds, and the user and environment in
effect before each instruction (inherited from a named earlier stage). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mab.detection.dockerfile import expand
from mab.lint.reader import Dockerfile, Instruction, words
from mab.lint.tools import StageState

_ENV_OLD_FORM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$", re.DOTALL)
_BUILDPLATFORM = re.compile(r"\$(BUILDPLATFORM|\{BUILDPLATFORM\})")


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None
    base: str
    platform: str | None
    items: tuple[int, ...]  # indexes into Dockerfile.instructions, FROM excluded
    states: tuple[StageState, ...]  # the state before each of `items`
    parent: str | None = None  # the earlier stage it is built FROM, by name

    @property
    def cross_compiles(self) -> bool:
        return bool(self.platform and _BUILDPLATFORM.search(self.platform))


def declared_names(ins: Instruction) -> list[tuple[str, str | None]]:
    """The names an ARG or ENV instruction declares, with their values as written."""
    if ins.keyword == "ENV":
        old = _ENV_OLD_FORM.match(ins.args)
        if old is not None and "=" not in old.group(1) and "=" not in ins.args.split()[0]:
            return [(old.group(1), old.group(2).strip())]
    out: list[tuple[str, str | None]] = []
    for word in words(ins.args):
        name, sep, value = word.partition("=")
        if name:
            out.append((name, value if sep else None))
    return out


def stages(dockerfile: Dockerfile) -> list[Stage]:
    found: list[Stage] = []
    by_name: dict[str, StageState] = {}
    global_args: dict[str, str | None] = {}
    for ins in dockerfile.instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            global_args.update(declared_names(ins))
    for start, end in _stage_bounds(dockerfile):
        head = dockerfile.instructions[start]
        rest = words(head.args)
        base = expand(rest[0], global_args) if rest else "scratch"
        name = rest[2].lower() if len(rest) >= 3 and rest[1].lower() == "as" else None
        platform = head.flag_values("platform")[-1] if head.flag_values("platform") else None
        state = by_name.get(base.lower(), StageState(base=base))
        items: list[int] = []
        states: list[StageState] = []
        for index in range(start + 1, end):
            items.append(index)
            states.append(state)
            state = _after(dockerfile.instructions[index], state)
        if name:
            by_name[name] = state
        parent = base.lower() if base.lower() in by_name else None
        found.append(
            Stage(len(found), name, state.base, platform, tuple(items), tuple(states), parent)
        )
    return found


def _stage_bounds(dockerfile: Dockerfile) -> Iterator[tuple[int, int]]:
    starts = [i for i, ins in enumerate(dockerfile.instructions) if ins.keyword == "FROM"]
    for n, start in enumerate(starts):
        yield start, starts[n + 1] if n + 1 < len(starts) else len(dockerfile.instructions)


def _after(ins: Instruction, state: StageState) -> StageState:
    if ins.keyword == "USER":
        user = ins.args.split()[0] if ins.args.split() else "root"
        return StageState(state.base, expand(user, dict(state.env)), state.env, user_set=True)
    if ins.keyword in ("ENV", "ARG"):
        env = dict(state.env)
        for name, value in declared_names(ins):
            if value is not None:
                env[name] = expand(value, dict[str, str | None](env))
            elif ins.keyword == "ARG":
                env.setdefault(name, "$" + name)
        return StageState(state.base, state.user, env, state.user_set)
    return state
