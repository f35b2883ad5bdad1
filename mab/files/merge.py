"""Round-trip merging: put a freshly generated document into the one on disk, keeping what the
user wrote. Works on ruamel.yaml's commented containers; no I/O.

What mab owns, and so rewrites:
- top-level keys it generates (`name`, `on`, `permissions`, `concurrency`, `env`, ...): mapping
  values are updated key by key, so keys the user added under `on:` or `env:` stay;
- jobs that hold a step whose `id` starts with `mab-` (GitHub) or whose name starts with `mab-`
  (GitLab): their generated keys are rewritten, stale generated keys removed, other keys kept;
- steps whose `id` starts with `mab-`: rewritten in place (comments on surviving keys kept).
Everything else — the user's jobs, steps, keys and comments, and their order — is kept.
A user step stays right after the mab step it followed (or first, if it came first).

Notes: comment lines starting with `# mab:` inside a job mab owns are mab's (a hint such as
"no dependency cache for npm"). Where ruamel.yaml lodges a comment after a round trip depends on
the node before it, so each merge drops the old notes and writes the generated ones again: the
file is the same after every run, and a note that no longer applies goes away.
"""

from __future__ import annotations

import copy
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

OWNED_PREFIX = "mab-"
NOTE_PREFIX = "mab: "
# Job keys mab may emit; if a newer generation no longer emits one, it is removed.
OWNED_JOB_KEYS = frozenset(
    {
        "name", "runs-on", "needs", "if", "strategy", "permissions", "env", "outputs",
        "timeout-minutes", "steps", "services", "container", "concurrency",
        # GitLab
        "stage", "image", "variables", "script", "before_script", "after_script", "rules",
        "parallel", "tags", "artifacts", "cache", "dependencies", "retry", "interruptible",
        "id_tokens",
    }
)  # fmt: skip
# Top-level keys whose mapping values are merged key by key rather than replaced.
MERGED_TOP_KEYS = frozenset({"on", "env", "variables"})


def is_mab_step(step: Any) -> bool:
    return isinstance(step, dict) and str(step.get("id", "")).startswith(OWNED_PREFIX)


def is_mab_job(name: str, job: Any) -> bool:
    if name.lstrip(".").startswith(OWNED_PREFIX):
        return True
    if not isinstance(job, dict):
        return False
    steps = job.get("steps")
    return isinstance(steps, list) and any(is_mab_step(s) for s in steps)


def replace_value(old: Any, new: Any) -> Any:
    """`new`, but reusing `old`'s containers (and so their comments) where shapes match."""
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            old[key] = replace_value(old[key], value) if key in old else value
            _take_comment(old, new, key)
        _reorder(old, list(new))
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        if all(not isinstance(v, dict | list) for v in [*old, *new]):
            if len(old) == len(new):  # item by item, so comments between items stay
                for i, value in enumerate(new):
                    old[i] = value
            else:
                old[:] = new
            return old
        return new
    return new


def update_value(old: Any, new: Any) -> Any:
    """Like replace_value, but keys in `old` that `new` lacks are kept (the user's)."""
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for key, value in new.items():
            old[key] = replace_value(old[key], value) if key in old else value
            _take_comment(old, new, key)
        return old
    return replace_value(old, new)


def _take_comment(old: CommentedMap, new: Any, key: Any) -> None:
    """A comment mab generates at the end of a key's line (a version pin, a zizmor reason)
    replaces the old one there; full-line comments that followed the old one are kept, and
    comments the generator puts above a key are not repeated (the file already has them)."""
    if not isinstance(new, CommentedMap) or key not in new.ca.items:
        return
    generated = new.ca.items[key][2]
    if generated is None:
        return
    slot = old.ca.items.setdefault(key, [None, None, None, None])
    current = slot[2]
    if current is None:
        slot[2] = copy.copy(generated)
        return
    tail = current.value.split("\n", 1)
    token = copy.copy(current)
    token.value = generated.value.strip() + ("\n" + tail[1] if len(tail) > 1 else "")
    if not token.value.endswith("\n"):
        token.value += "\n"
    slot[2] = token


def _reorder(mapping: CommentedMap, order: list[Any]) -> None:
    """Move the keys in `order` into that relative order, leaving other keys where they are."""
    present = [k for k in mapping if k in order]
    if present == [k for k in order if k in mapping]:
        return
    items = [(k, mapping[k]) for k in mapping]
    wanted = iter([k for k in order if k in mapping])
    for key, _ in items:
        del mapping[key]
    for key, value in items:
        if key in order:
            k2 = next(wanted)
            mapping[k2] = dict(items)[k2]
        else:
            mapping[key] = value


def _insert_after(
    mapping: CommentedMap, after: Any, key: Any, value: Any, source: Any = None
) -> None:
    keys = list(mapping)
    position = keys.index(after) + 1 if after in mapping else len(keys)
    mapping.insert(position, key, value)
    if isinstance(source, CommentedMap) and key in source.ca.items:
        mapping.ca.items[key] = source.ca.items[key]
    if after in mapping:
        move_trailing(mapping[after], value)


def _last_slot(node: Any) -> tuple[Any, Any] | None:
    """(container, key) of the entry printed last in `node`: where ruamel.yaml keeps the
    comment lines that follow `node` (they belong to whatever comes next)."""
    found = None
    while isinstance(node, CommentedMap | CommentedSeq) and len(node):
        key = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        found, node = (node, key), node[key]
    return found


def move_trailing(before: Any, inserted: Any) -> None:
    """`inserted` now follows `before`: the full-line comments after `before`, which were
    about what came next, move to after `inserted` (an end-of-line comment stays)."""
    src, dst = _last_slot(before), _last_slot(inserted)
    if src is None or dst is None:
        return
    container, key = src
    index = 2 if isinstance(container, CommentedMap) else 0
    token = (container.ca.items.get(key) or [None] * 4)[index]
    if not isinstance(token, CommentToken):
        return
    lc = container.lc.key(key) if isinstance(container, CommentedMap) else container.lc.item(key)
    line = getattr(token.start_mark, "line", None)
    # a comment made here, not read, has no line: an end-of-line one starts with its `#`
    same_line = token.value.startswith("#") if line is None else lc is not None and line == lc[0]
    eol, _, rest = token.value.partition("\n") if same_line else ("", "", token.value)
    if not rest.strip():
        return
    if eol:
        token.value = eol + "\n"
    else:
        container.ca.items[key][index] = None
    indent = " " * (0 if same_line else getattr(token.start_mark, "column", 0))
    lines = [line if line[:1] in (" ", "") else indent + line for line in rest.split("\n")]
    rest = "\n".join(lines).strip("\n") + "\n"
    target, target_key = dst
    block = str(target[target_key]).endswith("\n")  # a `|` block ends its own last line
    target_index = 2 if isinstance(target, CommentedMap) else 0
    slot = target.ca.items.setdefault(target_key, [None] * 4)
    current = slot[target_index]
    if isinstance(current, CommentToken):
        current.value = current.value.rstrip("\n") + "\n" + rest
    else:
        slot[target_index] = CommentToken(rest if block else "\n" + rest, CommentMark(0))


def merge_steps(old: list[Any], new: list[Any]) -> CommentedSeq:
    """mab's steps in their new order; each user step kept after the mab step it followed."""
    old_by_id = {s["id"]: s for s in old if is_mab_step(s)}
    anchored: dict[str | None, list[Any]] = {}
    anchor: str | None = None
    new_ids = {s["id"] for s in new if is_mab_step(s)}
    for step in old:
        if is_mab_step(step):
            if step["id"] in new_ids:
                anchor = step["id"]
            continue
        anchored.setdefault(anchor, []).append(step)
    out = CommentedSeq(anchored.get(None, []))
    for step in new:
        sid = step.get("id") if isinstance(step, dict) else None
        out.append(replace_value(old_by_id[sid], step) if sid in old_by_id else step)
        out.extend(anchored.get(sid, []))
    kept, carrying = {id(s) for s in old}, False
    for before, after in zip(list(out), list(out)[1:], strict=False):
        carrying = (id(before) in kept or carrying) and id(after) not in kept
        if carrying:  # new steps after a kept one: what followed it now follows them
            move_trailing(before, after)
    return out


def set_note(mapping: CommentedMap, key: Any, text: str, indent: int) -> None:
    """A note of mab's above `key`: every line starts with `# mab:`, so merges can find it."""
    lines = [f"{NOTE_PREFIX}{line}".rstrip() for line in text.splitlines()]
    mapping.yaml_set_comment_before_after_key(key, before="\n".join(lines), indent=indent)


def _is_note_line(line: str) -> bool:
    return line.lstrip().startswith("# " + NOTE_PREFIX.rstrip())


def _without_notes(token: CommentToken) -> CommentToken | None:
    lines = token.value.split("\n")
    kept = [line for line in lines if not _is_note_line(line)]
    if len(kept) == len(lines):
        return token
    value = "\n".join(kept)
    if not value.strip():
        # Only notes were there: keep the line end that closed the value before them.
        if not token.value.startswith("\n"):
            return None
        value = "\n"
    copied = copy.copy(token)
    copied.value = value
    return copied


def _clean_slot(slot: Any) -> Any:
    if isinstance(slot, CommentToken):
        return _without_notes(slot)
    if isinstance(slot, list):
        return [_clean_slot(item) for item in slot]
    return slot


def drop_notes(node: Any) -> None:
    """Remove mab's notes (`# mab: ...` comment lines) anywhere under `node`."""
    if not isinstance(node, CommentedMap | CommentedSeq):
        return
    for key, slots in list(node.ca.items.items()):
        node.ca.items[key] = _clean_slot(slots)
    if node.ca.comment is not None:
        node.ca.comment = _clean_slot(node.ca.comment)
    children = node.values() if isinstance(node, CommentedMap) else node
    for child in children:
        drop_notes(child)


def _take_notes(old: CommentedMap, new: Any) -> None:
    """Put the generated notes above `old`'s keys (they were dropped from `old` first)."""
    if not isinstance(new, CommentedMap):
        return
    for key, slots in new.ca.items.items():
        before = slots[1] if len(slots) > 1 else None
        if key in old and before and all(_is_note(token) for token in before):
            old.ca.items.setdefault(key, [None, None, None, None])[1] = copy.copy(before)


def _is_note(token: Any) -> bool:
    lines = [line for line in getattr(token, "value", "").split("\n") if line.strip()]
    return bool(lines) and all(_is_note_line(line) for line in lines)


def merge_job(old: CommentedMap, new: dict[str, Any]) -> CommentedMap:
    drop_notes(old)
    for key in [k for k in old if k in OWNED_JOB_KEYS and k not in new]:
        del old[key]
    previous = None
    for key, value in new.items():
        if key == "steps" and isinstance(old.get("steps"), list):
            old["steps"] = merge_steps(old["steps"], value)
        elif key in old:
            old[key] = replace_value(old[key], value)
            _take_comment(old, new, key)
        else:
            _insert_after(old, previous, key, value, new)
        previous = key
    _take_notes(old, new)
    return old


def merge_jobs(old: CommentedMap, new: dict[str, Any]) -> CommentedMap:
    """Jobs (GitHub's `jobs:` mapping, or a GitLab file's top level minus reserved keys)."""
    for name in [n for n in old if is_mab_job(str(n), old[n]) and n not in new]:
        del old[name]
    previous = None
    for name, job in new.items():
        if name in old and isinstance(old[name], CommentedMap) and isinstance(job, dict):
            merge_job(old[name], job)
        elif name in old:
            old[name] = replace_value(old[name], job)
        else:
            _insert_after(old, previous, name, job, new)
        previous = name
    return old


def merge_workflow(old: CommentedMap, new: CommentedMap) -> CommentedMap:
    """Merge a generated GitHub workflow into the one on disk."""
    previous = None
    for key, value in new.items():
        if key == "jobs" and isinstance(old.get("jobs"), CommentedMap):
            merge_jobs(old["jobs"], value)
        elif key in old and key in MERGED_TOP_KEYS:
            old[key] = update_value(old[key], value)
        elif key in old:
            old[key] = replace_value(old[key], value)
            _take_comment(old, new, key)
        else:
            _insert_after(old, previous, key, value, new)
        previous = key
    return old


def merge_mapping(old: CommentedMap, new: CommentedMap) -> CommentedMap:
    """Merge a generated settings document: generated keys updated, the user's extras kept."""
    return update_value(old, new)  # type: ignore[no-any-return]
