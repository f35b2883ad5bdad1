"""The one reader of repository files: regular files only (a FIFO is refused without waiting,
a link to /dev/zero without reading), a size cap, and a YAML alias budget that refuses an
alias bomb before it expands."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mab.files.reader import (
    UnsafeFileError,
    YamlBudgetError,
    load_yaml,
    read_bytes,
    read_text,
)


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join(f"*a{level - 1}" for _ in range(width))
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "compose.yaml"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeFileError, match=r"compose.yaml: a FIFO, not a regular file"):
        read_text(fifo, where="compose.yaml")


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / ".env"
    link.symlink_to("/dev/zero")
    with pytest.raises(UnsafeFileError, match="a device, not a regular file"):
        read_bytes(link)


def test_a_file_over_the_cap_is_refused_and_one_at_the_cap_read(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 2049)
    with pytest.raises(UnsafeFileError, match="over 2 KiB") as info:
        read_bytes(path, limit=2048)
    assert info.value.oversize
    path.write_bytes(b"x" * 2048)
    assert len(read_bytes(path, limit=2048)) == 2048


def test_a_missing_file_stays_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "nothing")


def test_an_alias_bomb_is_refused() -> None:
    with pytest.raises(YamlBudgetError, match="aliases expand to over 1,000,000 nodes"):
        load_yaml(alias_bomb(), "compose.yaml")


def test_ordinary_anchors_and_merge_keys_load() -> None:
    text = (
        "x-common: &common {image: app, environment: {A: '1'}}\n"
        "services:\n  a: {<<: *common, build: .}\n  b: {<<: *common, build: ./b}\n"
        "list: &l [1, 2]\nagain: *l\n"
    )
    data = load_yaml(text, "compose.yaml")
    assert data["services"]["b"] == {"image": "app", "environment": {"A": "1"}, "build": "./b"}
    assert data["again"] == [1, 2]


def test_a_recursive_alias_does_not_loop() -> None:
    data = load_yaml("a: &a [1, *a]\n", "x.yaml")
    assert data["a"][0] == 1
