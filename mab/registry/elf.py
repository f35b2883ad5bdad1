"""ELF headers: which machine a file is built for, told from its first bytes alone, and the
platforms those machines belong to. Pure."""

from __future__ import annotations

import struct
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
HEAD_BYTES = 4096  # the header and, in every linker's layout, the program headers
ET_EXEC, ET_DYN = 2, 3
PT_INTERP = 3

# e_machine values (the System V ABI's registry) and the names `file` gives them.
MACHINES = {
    3: "Intel 80386",
    8: "MIPS",
    20: "PowerPC",
    21: "64-bit PowerPC",
    22: "IBM S/390",
    40: "ARM",
    62: "x86-64",
    183: "ARM aarch64",
    243: "RISC-V",
    258: "LoongArch",
}

# platform architecture -> (e_machine, ELF class: 1 = 32-bit, 2 = 64-bit)
PLATFORM_MACHINES = {
    "386": (3, 1),
    "amd64": (62, 2),
    "arm": (40, 1),
    "arm64": (183, 2),
    "ppc64le": (21, 2),
    "ppc64": (21, 2),
    "s390x": (22, 2),
    "riscv64": (243, 2),
    "mips64le": (8, 2),
    "mips64": (8, 2),
    "mipsle": (8, 1),
    "mips": (8, 1),
    "loong64": (258, 2),
}


@dataclass(frozen=True)
class ElfHeader:
    machine: int
    elf_class: int  # 1: 32-bit, 2: 64-bit
    kind: str  # "executable" or "shared object"
    linking: str  # "static", "dynamic" or "unknown" (program headers beyond the bytes read)

    @property
    def arch(self) -> str:
        name = MACHINES.get(self.machine, f"machine {self.machine}")
        return f"{name} ({'64' if self.elf_class == 2 else '32'}-bit)"

    def describe(self) -> str:
        linking = "" if self.linking == "unknown" else f"{self.linking} "
        return f"{self.arch} {linking}{self.kind}"


def read_elf(head: bytes) -> ElfHeader | None:
    """The header of an ELF executable or shared object; None for anything else (scripts, data,
    object files, a truncated header)."""
    if len(head) < 52 or head[:4] != ELF_MAGIC or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    elf_class, order = head[4], "<" if head[5] == 1 else ">"
    e_type, machine = struct.unpack_from(order + "HH", head, 16)
    if e_type not in (ET_EXEC, ET_DYN):
        return None
    if elf_class == 2:
        if len(head) < 64:
            return None
        (phoff,) = struct.unpack_from(order + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", head, 54)
    else:
        (phoff,) = struct.unpack_from(order + "I", head, 28)
        phentsize, phnum = struct.unpack_from(order + "HH", head, 42)
    interp = _has_interp(head, order, phoff, phentsize, phnum)
    kind = "executable" if e_type == ET_EXEC or interp else "shared object"
    linking = "unknown" if interp is None else "dynamic" if interp else "static"
    return ElfHeader(machine, elf_class, kind, linking)


def _has_interp(head: bytes, order: str, phoff: int, size: int, count: int) -> bool | None:
    if size < 4 or phoff + size * count > len(head):
        return None
    return any(
        struct.unpack_from(order + "I", head, phoff + i * size)[0] == PT_INTERP
        for i in range(count)
    )


def fits(header: ElfHeader, platform: str) -> bool | None:
    """Does a binary run natively on `os/arch[/variant]`? None when mab does not know the arch."""
    arch = platform.split("/")[1] if platform.count("/") >= 1 else platform
    wanted = PLATFORM_MACHINES.get(arch)
    if wanted is None:
        return None
    return (header.machine, header.elf_class) == wanted
