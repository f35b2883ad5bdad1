"""The streaming layer walker and ELF header reader, on layers made here with tarfile, gzip and
zstandard from this machine's real binaries and hand-made ELF headers of other machines."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from pathlib import Path

import pytest
import zstandard

from mab.registry.elf import ElfHeader, fits, read_elf
from mab.registry.layerscan import (
    LayerError,
    LayerScan,
    compression_of,
    scan_layer,
)
from mab.registry.verify import final_elves

LS = Path("/bin/ls").read_bytes()  # this machine's x86-64 dynamic executable


def elf(machine: int, elf_class: int = 2, e_type: int = 2, interp: bool = False) -> bytes:
    """A minimal little-endian ELF header (with one program header) for `machine`."""
    if elf_class == 2:
        head = struct.pack(
            "<4sBBBB8xHHIQQQIHHHHHH",
            b"\x7fELF",
            2,
            1,
            1,
            0,
            e_type,
            machine,
            1,
            0,
            64,
            0,
            0,
            64,
            56,
            1,
            0,
            0,
            0,
        )
        phdr = struct.pack("<IIQQQQQQ", 3 if interp else 1, 0, 0, 0, 0, 0, 0, 0)
    else:
        head = struct.pack(
            "<4sBBBB8xHHIIIIIHHHHHH",
            b"\x7fELF",
            1,
            1,
            1,
            0,
            e_type,
            machine,
            1,
            0,
            52,
            0,
            0,
            52,
            32,
            1,
            0,
            0,
            0,
        )
        phdr = struct.pack("<IIIIIIII", 3 if interp else 1, 0, 0, 0, 0, 0, 0, 0)
    return head + phdr + b"\0" * 200


def layer(entries: list[tuple[str, bytes | None, str]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar of (path, data, kind): kind is "file", "link" (hard link to data's path) or "dir"."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for path, data, kind in entries:
            info = tarfile.TarInfo(path)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, (data or b"").decode()
                tar.addfile(info)
            else:
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
    return buf.getvalue()


def chunks(data: bytes, size: int = 777) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_elf_headers_name_machine_class_and_linking() -> None:
    ls = read_elf(LS[:4096])
    assert ls is not None and ls.describe() == "x86-64 (64-bit) dynamic executable"
    arm = read_elf(elf(183))
    assert arm is not None and arm.describe() == "ARM aarch64 (64-bit) static executable"
    assert read_elf(elf(183, e_type=3)) == ElfHeader(183, 2, "shared object", "static")
    assert read_elf(elf(40, elf_class=1)) == ElfHeader(40, 1, "executable", "static")
    assert read_elf(elf(62, e_type=1)) is None  # an object file is not run
    assert read_elf(b"#!/bin/sh\necho hi\n") is None
    assert read_elf(LS[:20]) is None  # truncated


def test_fits_compares_machine_and_class_with_the_platform() -> None:
    x86 = read_elf(LS[:4096])
    assert x86 is not None
    assert fits(x86, "linux/amd64") is True
    assert fits(x86, "linux/arm64") is False
    assert fits(x86, "linux/386") is False  # 64-bit on a 32-bit platform
    arm32 = read_elf(elf(40, elf_class=1))
    assert arm32 is not None
    assert fits(arm32, "linux/arm/v7") is True and fits(arm32, "linux/arm64") is False
    assert fits(x86, "windows/weird") is None


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_a_layer_is_read_in_small_chunks_whatever_its_compression(compression: str) -> None:
    tar = layer(
        [
            ("usr/bin/ls", LS, "file"),
            ("usr/bin/tool", elf(183), "file"),
            ("usr/bin/run.sh", b"#!/bin/sh\nexec tool\n", "file"),
            ("etc", None, "dir"),
            ("etc/os-release", b"NAME=test\n", "file"),
            ("usr/bin/ls2", b"usr/bin/ls", "link"),
            ("etc/.wh.passwd", b"", "file"),
            ("var/cache/.wh..wh..opq", b"", "file"),
            ("a/" + "long" * 60 + "/ls", LS, "file"),
        ]
    )
    data = {
        "gzip": gzip.compress(tar),
        "zstd": zstandard.ZstdCompressor().compress(tar),
        "none": tar,
    }[compression]
    scan = scan_layer(chunks(data), compression)
    paths = {e.path: e.header.describe() for e in scan.elves}
    assert paths == {
        "usr/bin/ls": "x86-64 (64-bit) dynamic executable",
        "usr/bin/ls2": "x86-64 (64-bit) dynamic executable",  # a hard link to it
        "usr/bin/tool": "ARM aarch64 (64-bit) static executable",
        "a/" + "long" * 60 + "/ls": "x86-64 (64-bit) dynamic executable",
    }
    assert scan.removed == ("etc/passwd",) and scan.opaque == ("var/cache",)
    assert scan.others == frozenset({"usr/bin/run.sh", "etc/os-release"})
    assert scan.size == len(tar)


def test_gnu_long_names_and_multi_member_gzip_are_read() -> None:
    tar = layer([("b/" + "x" * 150 + "/tool", elf(62), "file")], fmt=tarfile.GNU_FORMAT)
    half = len(tar) // 1024 * 512
    data = gzip.compress(tar[:half]) + gzip.compress(tar[half:])
    (entry,) = scan_layer(chunks(data, 100), "gzip").elves
    assert entry.path.endswith("x/tool")


def test_broken_layers_raise_layer_error() -> None:
    tar = layer([("usr/bin/ls", LS, "file")])
    with pytest.raises(LayerError, match="truncated"):
        scan_layer([tar[:2000]], "none")
    with pytest.raises(LayerError, match="gzip"):
        scan_layer([b"not gzip at all"], "gzip")
    with pytest.raises(LayerError, match="checksum"):
        scan_layer([b"X" + tar[1:]], "none")
    with pytest.raises(LayerError, match="where a number belongs"):
        scan_layer([b"x" * 1024], "none")


def test_compression_of_media_types() -> None:
    assert compression_of("application/vnd.oci.image.layer.v1.tar+gzip") == "gzip"
    assert compression_of("application/vnd.docker.image.rootfs.diff.tar.gzip") == "gzip"
    assert compression_of("application/vnd.oci.image.layer.v1.tar+zstd") == "zstd"
    assert compression_of("application/vnd.oci.image.layer.v1.tar") == "none"
    assert compression_of("application/vnd.in-toto+json") is None


def test_the_final_view_applies_replacements_and_whiteouts() -> None:
    lower = scan_layer(
        [
            layer(
                [
                    ("bin/a", LS, "file"),
                    ("bin/b", LS, "file"),
                    ("opt/x/c", LS, "file"),
                    ("srv/d", LS, "file"),
                ]
            )
        ],
        "none",
    )
    upper = scan_layer(
        [
            layer(
                [
                    ("bin/a", b"#!/bin/sh\n", "file"),  # replaced by a script
                    ("bin/.wh.b", b"", "file"),  # deleted
                    ("opt/.wh.x", b"", "file"),  # a folder deleted
                    ("srv/.wh..wh..opq", b"", "file"),  # a folder emptied
                    ("srv/e", elf(183), "file"),
                ]
            )
        ],
        "none",
    )
    assert isinstance(upper, LayerScan)
    view = final_elves([("sha256:low", lower), ("sha256:up", upper)])
    assert {p: d for p, (_e, d) in view.items()} == {"srv/e": "sha256:up"}
