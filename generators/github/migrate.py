"""Bring a workflow an older mab wrote up to today's shape before merging into it.

Older workflows had a job pair per image (`build-<image>`, `merge-<image>`); today one `build`
and one `merge` job run over every image. The first job of each kind is renamed in place, so
what the user added to it (keys, comments) stays. The user's steps of every old job go into
it, each right after the mab step it followed, with the comment above it, and with a condition
that keeps it to the image it ran for (`matrix.image.name == '<image>'`); then the other old
jobs go. Jobs of the user's that needed an old job need its successor. A comment that sat at
the end of a removed job (above the job after it) moves to the end of the job before it.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from mab.files.merge import is_mab_job, is_mab_step

_OLD_JOB = re.compile(r"(build|merge)-.+")


def migrate_jobs(document: CommentedMap) -> None:
    jobs = document.get("jobs")
    if not isinstance(jobs, CommentedMap):
        return
    old = [
        str(name)
        for name in jobs
        if _OLD_JOB.fullmatch(str(name)) and is_mab_job(str(name), jobs[name])
    ]
    renamed: dict[str, str] = {}
    for kind in ("build", "merge"):
        names = [n for n in old if n.startswith(f"{kind}-")]
        if not names or kind in jobs:
            continue
        keep, *drop = names
        _scope_user_steps(jobs[keep], keep.removeprefix(f"{kind}-"))
        for name in drop:
            _move_user_steps(jobs[name], jobs[keep], name.removeprefix(f"{kind}-"))
            _drop_job(jobs, name)
        _rename(jobs, keep, kind)
        renamed.update({n: kind for n in names})
    if renamed:
        for job in jobs.values():
            if isinstance(job, CommentedMap) and "needs" in job:
                job["needs"] = _renamed_needs(job["needs"], renamed)


def _renamed_needs(needs: Any, renamed: dict[str, str]) -> Any:
    if isinstance(needs, str):
        return renamed.get(needs, needs)
    if isinstance(needs, list):
        out = list(dict.fromkeys(renamed.get(str(n), n) for n in needs))
        return out[0] if len(out) == 1 else CommentedSeq(out)
    return needs


def _only_for(step: CommentedMap, image: str) -> None:
    condition = f"matrix.image.name == '{image}'"
    existing = step.get("if")
    if existing is None:
        position = 1 if "id" in step else 0
        step.insert(position + (1 if "name" in step else 0), "if", condition)
    elif condition not in str(existing):
        step["if"] = f"({existing}) && {condition}"


def _scope_user_steps(job: Any, image: str) -> None:
    steps = job.get("steps") if isinstance(job, CommentedMap) else None
    for step in steps if isinstance(steps, list) else ():
        if isinstance(step, CommentedMap) and not is_mab_step(step):
            _only_for(step, image)


def _move_user_steps(source: Any, target: Any, image: str) -> None:
    """Each user step of `source` into `target`, after the mab step it followed there."""
    if not (isinstance(source, CommentedMap) and isinstance(target, CommentedMap)):
        return
    steps, into = source.get("steps"), target.get("steps")
    if not (isinstance(steps, CommentedSeq) and isinstance(into, CommentedSeq)):
        return
    previous: Any = None
    for i, step in enumerate(steps):
        if is_mab_step(step) or not isinstance(step, CommentedMap):
            previous = step
            continue
        comment = _take_tail_comment(steps[i - 1]) if i > 0 else None
        _only_for(step, image)
        at = _index_after(into, previous)
        into.insert(at, step)
        if comment is not None and at > 0:
            _set_tail_comment(into[at - 1], comment)
        previous = step


def _index_after(steps: CommentedSeq, previous: Any) -> int:
    """Where a step that followed `previous` goes: after the step with its id (and the user
    steps after that), or first."""
    if previous is None:
        return 0
    wanted = previous.get("id") if isinstance(previous, dict) else None
    for i, step in enumerate(steps):
        if step is previous or (wanted and isinstance(step, dict) and step.get("id") == wanted):
            at = i + 1
            while at < len(steps) and not is_mab_step(steps[at]):
                at += 1
            return at
    return len(steps)


def _rename(jobs: CommentedMap, old: str, new: str) -> None:
    position = list(jobs).index(old)
    value = jobs[old]
    comment = jobs.ca.items.pop(old, None)
    del jobs[old]
    jobs.insert(position, new, value)
    if comment is not None:
        jobs.ca.items[new] = comment


def _drop_job(jobs: CommentedMap, name: str) -> None:
    """Remove job `name`, keeping the comment at its end on the job before it."""
    names = list(jobs)
    index = names.index(name)
    tail = _take_tail_comment(jobs[name])
    if tail is not None and index > 0:
        _set_tail_comment(jobs[names[index - 1]], tail)
    del jobs[name]


def _last_slot(node: Any) -> tuple[Any, Any] | None:
    """The (container, key or index) of `node`'s last scalar, where an end comment lives."""
    while True:
        if isinstance(node, CommentedMap) and node:
            key = list(node)[-1]
            if isinstance(node[key], CommentedMap | CommentedSeq) and node[key]:
                node = node[key]
                continue
            return node, key
        if isinstance(node, CommentedSeq) and node:
            if isinstance(node[-1], CommentedMap | CommentedSeq) and node[-1]:
                node = node[-1]
                continue
            return node, len(node) - 1
        return None


def _take_tail_comment(node: Any) -> Any:
    slot = _last_slot(node)
    if slot is None:
        return None
    container, key = slot
    entry = container.ca.items.get(key)
    index = 2 if isinstance(container, CommentedMap) else 0
    if not entry or len(entry) <= index or entry[index] is None:
        return None
    token = entry[index]
    entry[index] = None
    return token


def _set_tail_comment(node: Any, token: Any) -> None:
    slot = _last_slot(node)
    if slot is None:
        return
    container, key = slot
    index = 2 if isinstance(container, CommentedMap) else 0
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    if entry[index] is None:
        entry[index] = token
