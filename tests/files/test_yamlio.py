from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mab.errors import InvalidYamlError
from mab.files.yamlio import dump_roundtrip, load_roundtrip, read_data, to_commented, write_atomic

TRICKY = [
    "on", "off", "yes", "no", "y", "n", "True", "NULL", "~", "010", "0o17", "1.10", "1_000",
    "12:30", "0x1F", ".inf", "2026-11-30", "", " lead", "trail ", "-", "a: b", "#x", "@x",
    "*x", "v1.2", "${{ github.ref }}", "a\nb\n", "line\n  indented\n",
]  # fmt: skip


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_strings_read_the_same_under_yaml_11_and_12(value: str) -> None:
    text = dump_roundtrip(to_commented({value or "k": value, "list": [value]}))
    expected = {value or "k": value, "list": [value]}
    assert yaml.safe_load(text) == YAML(typ="safe").load(text) == expected


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=5))
def test_any_string_mapping_reads_the_same(data: dict[str, str]) -> None:
    text = dump_roundtrip(to_commented(data))
    assert yaml.safe_load(text) == YAML(typ="safe").load(text) == data


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("a: 1\nb: [unclosed\nc: 2\n")
    with pytest.raises(InvalidYamlError) as info:
        read_data(path, where="bad.yml")
    assert info.value.render().startswith("mab: error: bad.yml:")
    assert info.value.line is not None and info.value.line >= 2


def test_duplicate_keys_are_refused_for_editing() -> None:
    with pytest.raises(InvalidYamlError):
        load_roundtrip("a: 1\na: 2\n", "dup.yml")


def test_write_atomic_replaces_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "f.yml"
    path.write_text("old")
    path.chmod(0o600)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.yml"]


TABS = Path(__file__).resolve().parents[1] / "fixtures" / "qa" / "tabs.mab.yml"


def test_a_tab_in_the_indentation_is_named() -> None:
    """Both parsers say "found character that cannot start any token", which does not tell a
    user their editor put a tab there."""
    text = TABS.read_text(encoding="utf-8")
    for parse in (lambda: read_data(TABS, ".mab.yml"), lambda: load_roundtrip(text, ".mab.yml")):
        with pytest.raises(InvalidYamlError) as info:
            parse()
        assert info.value.line == 3
        assert "a tab in the indentation: YAML indents with spaces only" in info.value.message


def test_a_tab_elsewhere_is_not_blamed() -> None:
    with pytest.raises(InvalidYamlError) as info:
        load_roundtrip("a: [1,\n  b: \t2\n", "x.yml")
    assert "tab" not in info.value.message
