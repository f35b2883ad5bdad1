"""Read one image layer as it streams in: decompress (gzip or zstd) and walk the tar
incrementally, keeping only each regular file's first bytes (its ELF header, if any). Nothing
is stored: memory stays flat whatever the layer's size. Pure: bytes in, a `LayerScan` out."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mab.registry.elf import ELF_MAGIC, HEAD_BYTES, ElfHeader, read_elf

BLOCK = 512
OUT_STEP = 1024 * 1024  # decompressed bytes produced per step, whatever the input's ratio
MAX_META = 1024 * 1024  # a pax header or GNU long name larger than this is not a real one
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
GZIP_TYPES = ("tar+gzip", "tar.gzip", "rootfs.diff.tar.gzip")


class LayerError(Exception):
    """The layer is not a tar in a compression mab reads."""


@dataclass(frozen=True)
class ElfEntry:
    path: str
    header: ElfHeader


@dataclass(frozen=True)
class LayerScan:
    """What a layer holds, as far as the architecture check needs it."""

    elves: tuple[ElfEntry, ...]
    removed: tuple[str, ...]  # paths a whiteout deletes from the layers below
    opaque: tuple[str, ...]  # directories whose lower contents are hidden
    others: frozenset[str]  # every other non-directory entry (it may replace a lower file)
    files: int
    size: int  # uncompressed bytes


def compression_of(media_type: str) -> str | None:
    """`gzip`, `zstd` or `none` for a layer media type; None when it is not a tar layer."""
    if media_type.endswith(("tar+zstd", "tar.zstd")):
        return "zstd"
    if media_type.endswith(GZIP_TYPES):
        return "gzip"
    if media_type.endswith((".tar", "image.layer.v1.tar", "rootfs.diff.tar")):
        return "none"
    return None


def decompressed(chunks: Iterable[bytes], compression: str) -> Iterator[bytes]:
    if compression == "gzip":
        return _gunzip(chunks)
    if compression == "zstd":
        return _unzstd(chunks)
    return iter(chunks)


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits=31)
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out = inflater.decompress(data, OUT_STEP)
                if out:
                    yield out
                if inflater.eof:  # a multi-member gzip: the next member follows
                    data = inflater.unused_data
                    inflater = zlib.decompressobj(wbits=31)
                else:
                    data = inflater.unconsumed_tail
        tail = inflater.flush()
        if tail:
            yield tail
    except zlib.error as exc:
        raise LayerError(f"not valid gzip ({exc})") from None


def _unzstd(chunks: Iterable[bytes]) -> Iterator[bytes]:
    import zstandard

    source: Any = _ChunkReader(chunks)  # read() is all the stream reader calls
    reader = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
    try:
        while out := reader.read(OUT_STEP):
            yield out
    except zstandard.ZstdError as exc:
        raise LayerError(f"not valid zstd ({exc})") from None


class _ChunkReader:
    """A minimal file object over an iterator of chunks, for zstandard's stream reader."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""

    def read(self, size: int = -1) -> bytes:
        if not self._rest:
            self._rest = next(self._chunks, b"")
        n = len(self._rest) if size < 0 else size
        out, self._rest = self._rest[:n], self._rest[n:]
        return out


class _Walker:
    """The tar state machine: headers, then each member's data, skipped except its head."""

    def __init__(self) -> None:
        self.elves: list[ElfEntry] = []
        self.removed: list[str] = []
        self.opaque: list[str] = []
        self.others: set[str] = set()
        self.files = 0
        self.size = 0
        self.done = False
        self._header = bytearray()
        self._remaining = 0  # data bytes (with padding) still to pass of the current member
        self._keep = 0  # of which the first ones are kept
        self._kept = bytearray()
        self._member: tuple[str, str, str] | None = None  # (type, path, link)
        self._pax: dict[str, str] = {}
        self._long: dict[str, str] = {}
        self._elf_by_path: dict[str, ElfHeader] = {}

    @property
    def truncated(self) -> bool:
        return not self.done and bool(self._remaining or self._header)

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end and not self.done:
            if self._remaining:
                take = min(self._remaining, end - pos)
                if self._keep:
                    grab = min(take, self._keep)
                    self._kept += view[pos : pos + grab]
                    self._keep -= grab
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._finish_member()
                continue
            take = min(BLOCK - len(self._header), end - pos)
            self._header += view[pos : pos + take]
            pos += take
            if len(self._header) == BLOCK:
                block, self._header = bytes(self._header), bytearray()
                self._start_member(block)

    def _start_member(self, block: bytes) -> None:
        if block.count(0) == BLOCK:
            self.done = True  # the end-of-archive marker (the second zero block need not come)
            return
        if _octal(block[148:156]) != sum(block) - sum(block[148:156]) + 8 * 32:
            raise LayerError("a tar header's checksum does not match (not a tar layer?)")
        size = _octal(block[124:136])
        kind = chr(block[156]) if block[156] else "0"
        name = _text(block[0:100])
        if block[257:262] == b"ustar" and block[345]:
            name = _text(block[345:500]) + "/" + name
        link = _text(block[157:257])
        if kind in "xgLK":
            if size > MAX_META:
                raise LayerError(f"a tar metadata entry of {size} bytes")
            self._member, self._keep = (kind, "", ""), size
        else:
            name = self._pax.pop("path", "") or self._long.pop("L", "") or name
            link = self._pax.pop("linkpath", "") or self._long.pop("K", "") or link
            size = int(self._pax.pop("size", size))
            self._pax.clear()
            self._member = (kind, _clean(name), _clean(link))
            self._keep = min(HEAD_BYTES, size) if kind in "07" else 0
        self._remaining = -(-size // BLOCK) * BLOCK
        self._kept = bytearray()
        if not self._remaining:
            self._finish_member()

    def _finish_member(self) -> None:
        assert self._member is not None
        kind, path, link = self._member
        data = bytes(self._kept)
        self._member, self._kept = None, bytearray()
        if kind == "x":
            self._pax = _pax_records(data)
            return
        if kind in "LK":
            self._long[kind] = _clean(data.rstrip(b"\0").decode("utf-8", "replace"))
            return
        if kind == "g" or kind == "5" or not path:
            return
        self.files += 1
        folder, _, base = path.rpartition("/")
        if base == OPAQUE:
            self.opaque.append(folder)
        elif base.startswith(WHITEOUT):
            self.removed.append(f"{folder}/{base[4:]}" if folder else base[4:])
        elif kind in "07" and data[:4] == ELF_MAGIC and (header := read_elf(data)):
            self._add_elf(path, header)
        elif kind == "1" and link in self._elf_by_path:  # a hard link to an ELF file above
            self._add_elf(path, self._elf_by_path[link])
        else:
            self.others.add(path)

    def _add_elf(self, path: str, header: ElfHeader) -> None:
        self._elf_by_path[path] = header
        self.elves.append(ElfEntry(path, header))


def scan_layer(chunks: Iterable[bytes], compression: str) -> LayerScan:
    """Walk a layer's tar as its (compressed) chunks arrive; raises `LayerError` on bad data."""
    walker = _Walker()
    for data in decompressed(chunks, compression):
        walker.size += len(data)
        if not walker.done:
            walker.feed(data)
    if walker.truncated:
        raise LayerError("the tar ends in the middle of an entry (truncated layer)")
    return LayerScan(
        tuple(walker.elves),
        tuple(walker.removed),
        tuple(walker.opaque),
        frozenset(walker.others),
        walker.files,
        walker.size,
    )


def _octal(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256 for values too large for octal
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.rstrip(b"\0 ").lstrip(b" ") or b"0"
    try:
        return int(text, 8)
    except ValueError:
        raise LayerError(f"a tar header holds {text[:12]!r} where a number belongs") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "replace")


def _clean(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path.strip("/")


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise LayerError("a pax header record has no length") from None
        if length <= 0:
            break
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        pos += length
    return records
