"""Reading and writing `.mab.yml`, all driven by its declaration in `mab.config.settings`.

- `parse_config` turns the file's text into `Settings`, or raises one `UserError`
  `.mab.yml:LINE: path.to.field: message` (exit code 2) naming the first problem; a `version`
  newer than this mab's is refused before anything else is read.
- `render_config` writes the settings back: values that differ from the defaults plus the few a
  reader wants to see, merged into the file on disk so the user's comments and extra keys stay,
  with a first-line `# yaml-language-server: $schema=...` comment for editors.
- `override` applies command-line flags, named by their dotted path in the file.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from mab import __version__
from mab.config.settings import ALWAYS_WRITTEN, CONFIG_FILE, Settings
from mab.config.types import SCHEMA_VERSION
from mab.errors import UserError
from mab.files.reader import read_text
from mab.files.yamlio import (
    dump_roundtrip,
    line_of,
    load_roundtrip,
    parse_data,
    to_commented,
)

if TYPE_CHECKING:  # ruamel is imported where a file is written, not where one is read
    from ruamel.yaml.comments import CommentedMap

HEADER = (
    "mab settings, written by `mab init-ci` and read by `mab init-ci` and `mab build`.\n"
    "Edit freely: flags given on the command line override these values.\n"
)
SCHEMA_COMMENT = "# yaml-language-server: $schema="
SCHEMA_IN_REPOSITORY = "mab/config/mab.schema.json"


def schema_url(repository_url: str) -> str:
    """The JSON Schema of this mab's version: the committed file at its release tag in mab's
    repository (`https://github.com/OWNER/REPO`, see `mab.config.distribution`)."""
    owner_repo = repository_url.removeprefix("https://github.com/").removesuffix(".git")
    return (
        f"https://raw.githubusercontent.com/{owner_repo.strip('/')}/v{__version__}/"
        f"{SCHEMA_IN_REPOSITORY}"
    )


FIX_HINT = f"fix {CONFIG_FILE} (nothing was written), then run the command again"

Path_ = tuple[str | int, ...]  # a field's place in the file: keys and list indexes


def parse_config(text: str) -> Settings:
    """Validate the text of `.mab.yml` (an empty file means every default)."""
    data = parse_data(text, CONFIG_FILE)
    data = {} if data is None else data
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        from mab.config.distribution import DISTRIBUTION  # reads package metadata: only here

        raise _problem(
            text,
            ("version",),
            f"{version} is newer than this mab understands ({SCHEMA_VERSION})",
            hint=f"upgrade mab (pip install --upgrade {DISTRIBUTION}), or write the file for "
            f"version {SCHEMA_VERSION}",
        )
    try:
        return msgspec.convert(data, Settings)
    except msgspec.ValidationError as exc:
        path, message = explain(str(exc))
        if "[...]" in str(exc):  # a mapping's value: msgspec does not say which key
            path = _entry_at_fault(data, path)
        raise _problem(text, path, message) from None


def _entry_at_fault(data: Any, path: Path_) -> Path_:
    """The key, in the mapping at `path`, whose value alone fails the declaration."""
    mapping = data
    for part in path:
        mapping = mapping[part]
    for key in mapping:
        trial = copy.deepcopy(data)
        inner = trial
        for part in path:
            inner = inner[part]
        for other in [k for k in inner if k != key]:
            del inner[other]
        try:
            msgspec.convert(trial, Settings)
        except msgspec.ValidationError as exc:
            if "[...]" in str(exc):
                return (*path, str(key))
    return path


def load_config(root: Path) -> Settings | None:
    """The repository's `.mab.yml`, or None when there is none."""
    path = root / CONFIG_FILE
    if not path.exists():
        return None
    return parse_config(read_text(path, where=CONFIG_FILE))


def named_in_file(root: Path) -> frozenset[str]:
    """The top-level keys the repository's `.mab.yml` names (for defaults mab works out itself
    when the file leaves them out, such as the default branch)."""
    path = root / CONFIG_FILE
    data = parse_data(read_text(path, where=CONFIG_FILE), CONFIG_FILE) if path.exists() else None
    return frozenset(map(str, data)) if isinstance(data, dict) else frozenset()


def load_settings(root: Path) -> Settings:
    """Settings for `mab build`: the repository's `.mab.yml`, or the defaults."""
    return load_config(root) or Settings()


def _problem(text: str, path: Path_, message: str, hint: str = FIX_HINT) -> UserError:
    line = line_of(text, path)
    where = f"{CONFIG_FILE}:{line}" if line is not None else CONFIG_FILE
    return UserError(f"{where}: {dotted(path)}: {message}", hint=hint)


def dotted(path: Path_) -> str:
    """("images", 0, "name") -> images[0].name; () -> (top level)."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "(top level)"


# ------------------------------------------------------------------------ msgspec's messages

_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "array": "a list",
    "object": "a mapping",
}
_FIELD = re.compile(r"^Object (contains unknown|missing required) field `([^`]*)`$")
_EXPECTED = re.compile(r"^Expected `([^`]*)`(?:, got `([^`]*)`)?$")
_OWN = re.compile(r"^([a-z0-9_.-]+): (.+)$")  # raised by Settings.__post_init__: "path: message"


def _parse_path(text: str) -> Path_:
    """msgspec's `$.images[0].name` (or `$.github.runners[...]`) as a key path."""
    parts: list[str | int] = []
    for key, index in re.findall(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]", text):
        if key:
            parts.append(key)
        elif index != "...":
            parts.append(int(index))
    return tuple(parts)


def explain(error: str) -> tuple[Path_, str]:
    """A msgspec validation message as (path in the file, message in mab's words)."""
    message, _, at = error.partition(" - at `")
    at = at.removesuffix("`")
    of_key = at.startswith("key` in `")
    path = _parse_path(at.removeprefix("key` in `"))
    if not at and (own := _OWN.match(message)):
        return _parse_path("." + own[1]), own[2]
    if field := _FIELD.match(message):
        if field[1] == "missing required":
            return (*path, field[2]), "required"
        known = ", ".join(sorted(_fields_at(path)))
        return (*path, field[2]), f"unknown setting (known: {known})"
    if message.startswith("Invalid enum value "):
        value = message.removeprefix("Invalid enum value ")
        return path, f"{value} is not one of: " + ", ".join(map(str, _choices_at(path, of_key)))
    if message.startswith("Expected `array` of length >= "):
        return path, "needs at least " + message.rsplit(" ", 1)[1] + " entry"
    if expected := _EXPECTED.match(message):
        if of_key:
            return path, "keys must be strings"
        *others, last = [_TYPE_NAMES.get(t, t) for t in expected[1].split(" | ")]
        want = f"{', '.join(others)} or {last}" if others else last
        got = _TYPE_NAMES.get(expected[2] or "", expected[2])
        return path, f"expected {want}" + (f", got {got}" if got else "")
    return path, message[:1].lower() + message[1:]


def _type_at(path: Path_, of_key: bool = False) -> Any:
    """The declared type at `path`, from the declaration itself (so new fields need nothing)."""
    from msgspec import inspect

    def unwrap(t: Any) -> Any:
        while isinstance(t, inspect.Metadata | inspect.UnionType):
            if isinstance(t, inspect.Metadata):
                t = t.type
            else:
                t = next(x for x in t.types if not isinstance(x, inspect.NoneType))
        return t

    t = unwrap(inspect.type_info(Settings))
    for part in path:
        if isinstance(t, inspect.StructType) and isinstance(part, str):
            t = next(f.type for f in t.fields if f.encode_name == part)
        elif isinstance(t, inspect.VarTupleType | inspect.ListType):
            t = t.item_type
        t = unwrap(t)
    if isinstance(t, inspect.DictType):
        t = unwrap(t.key_type if of_key else t.value_type)
    return t


def _fields_at(path: Path_) -> list[str]:
    return [f.encode_name for f in getattr(_type_at(path), "fields", ())]


def _choices_at(path: Path_, of_key: bool) -> tuple[object, ...]:
    return tuple(getattr(_type_at(path, of_key), "values", ()))


# ------------------------------------------------------------------------ writing


def config_data(settings: Settings) -> CommentedMap:
    """The YAML document for `.mab.yml`: values that differ from the defaults, plus
    `ALWAYS_WRITTEN`, in the declaration's order; sections left at their defaults are left out."""
    written: dict[str, Any] = _without_empty(msgspec.to_builtins(settings))
    data: dict[str, Any] = {}
    for info in msgspec.structs.fields(Settings):
        if info.encode_name in ALWAYS_WRITTEN:
            data[info.encode_name] = msgspec.to_builtins(getattr(settings, info.name))
        elif written.get(info.encode_name) not in (None, {}):
            data[info.encode_name] = written[info.encode_name]
    doc: CommentedMap = to_commented(data)
    doc.yaml_set_start_comment(HEADER)
    return doc


def _without_empty(value: Any) -> Any:
    """Mappings with their sections left at their defaults (written as `{}`) removed, at any
    depth: `github: {buildx: {}}` is no setting at all."""
    if not isinstance(value, dict):
        return value
    kept = {k: _without_empty(v) for k, v in value.items()}
    return {k: v for k, v in kept.items() if v != {}}


def render_config(settings: Settings, old_text: str | None) -> str:
    """The text of `.mab.yml` for `settings`, merged into `old_text` (the file on disk) so the
    user's comments and extra keys stay; the schema comment is the first line either way."""
    from ruamel.yaml.comments import CommentedMap

    from mab.files.merge import merge_mapping

    generated = config_data(settings)
    old = load_roundtrip(old_text, CONFIG_FILE) if old_text is not None else None
    text = dump_roundtrip(
        merge_mapping(old, generated) if isinstance(old, CommentedMap) else generated
    )
    first, _, rest = text.partition("\n")
    body = rest if first.startswith(SCHEMA_COMMENT) else text
    from mab.config.distribution import repository_url  # reads package metadata: only here

    return f"{SCHEMA_COMMENT}{schema_url(repository_url())}\n{body}"


# ------------------------------------------------------------------------ flags


def override(settings: Settings, changes: dict[str, Any], hint: str | None = None) -> Settings:
    """`settings` with `changes` applied, each named by its attribute path ("github.workflow");
    None means "flag not given" and changes nothing."""
    given = {k: v for k, v in changes.items() if v is not None}
    changed: Settings = _override(settings, given, hint)
    return changed


def _override(struct: Any, changes: dict[str, Any], hint: str | None) -> Any:  # a Section
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = defaultdict(dict)
    for key, value in changes.items():
        head, dot, rest = key.partition(".")
        if dot:
            nested[head][rest] = value
        else:
            direct[key] = value
    for head, sub in nested.items():
        direct[head] = _override(getattr(struct, head), sub, hint)
    try:
        return msgspec.structs.replace(struct, **direct)
    except ValueError as exc:
        raise UserError(str(exc), hint=hint) from None
