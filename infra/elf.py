"""Just enough of ELF to describe a debug file the way Sentry (symbolic) does: debug id, code
id, CPU, object kind and features. Read from a seekable file; nothing is loaded whole."""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import BinaryIO

from commands.uploads import DebugFile

ELF_MAGIC = b"\x7fELF"
SHT_NOTE, SHT_NOBITS = 7, 8
PT_INTERP = 3
NT_GNU_BUILD_ID = 3
ET_KINDS = {0: "none", 1: "rel", 2: "exe", 3: "lib", 4: "dump"}
PAGE_SIZE = 4096
# symbolic's architecture names for e_machine (64-bit variants where the class decides).
MACHINES = {3: "x86", 62: "x86_64", 40: "arm", 183: "arm64", 20: "ppc", 21: "ppc64", 243: "riscv64"}
UNSUPPORTED = "Unsupported debug information file: unsupported object file format"


class NotElf(ValueError):
    pass


@dataclass(frozen=True)
class _Section:
    name: str
    type: int
    offset: int
    size: int


def is_elf(f: BinaryIO) -> bool:
    f.seek(0)
    return f.read(4) == ELF_MAGIC


def parse_elf(f: BinaryIO) -> DebugFile:
    f.seek(0)
    ident = f.read(16)
    if len(ident) < 16 or ident[:4] != ELF_MAGIC or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise NotElf(UNSUPPORTED)
    is64, little = ident[4] == 2, ident[5] == 1
    end = "<" if little else ">"
    addr = "Q" if is64 else "I"
    header = struct.Struct(f"{end}HHI{addr}{addr}{addr}IHHHHHH")
    raw = f.read(header.size)
    if len(raw) < header.size:
        raise NotElf(UNSUPPORTED)
    e_type, machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, shstrndx = header.unpack(
        raw
    )
    sections = _sections(f, end, addr, shoff, shentsize, shnum, shstrndx)
    interp = _has_interpreter(f, end, addr, is64, phoff, phentsize, phnum)
    build_id = _build_id(f, end, sections)
    text = sections.get(".text")
    kind = ET_KINDS.get(e_type, "other")
    if kind == "exe" and not interp:
        kind = "dbg"  # stripped debug companions keep an executable's type but no interpreter
    if kind == "lib" and (text is None or text.type == SHT_NOBITS):
        kind = "dbg"
    if build_id:
        debug_id = _guid(build_id[:16].ljust(16, b"\0"), little)
    else:
        debug_id = _guid(_text_hash(f, text), little) if text and text.type != SHT_NOBITS else ""
    cpu = MACHINES.get(machine, "unknown")
    if machine == 8:
        cpu = "mips64" if is64 else "mips"
    return DebugFile(
        debug_id=debug_id,
        code_id=build_id.hex() if build_id else None,
        cpu_name=cpu,
        object_kind=kind,
        file_format="elf",
        features=_features(sections),
    )


def _sections(
    f: BinaryIO, end: str, addr: str, shoff: int, shentsize: int, shnum: int, shstrndx: int
) -> dict[str, _Section]:
    entry = struct.Struct(f"{end}II{addr}{addr}{addr}{addr}II{addr}{addr}")
    if not shoff or shentsize < entry.size or shnum > 65535:
        return {}
    f.seek(shoff)
    raw = [entry.unpack(f.read(shentsize)[: entry.size]) for _ in range(shnum)]
    if shstrndx >= len(raw):
        return {}
    f.seek(raw[shstrndx][4])
    names = f.read(raw[shstrndx][5])
    sections: dict[str, _Section] = {}
    for name_offset, sh_type, _, _, offset, size, *_ in raw:
        name = names[name_offset : names.find(b"\0", name_offset)].decode("latin-1")
        sections.setdefault(name, _Section(name, sh_type, offset, size))
    return sections


def _has_interpreter(f: BinaryIO, end: str, addr: str, is64: bool, phoff: int, size: int, count: int) -> bool:
    for i in range(min(count, 4096)):
        f.seek(phoff + i * size)
        (p_type,) = struct.unpack(f"{end}I", f.read(4))
        if p_type == PT_INTERP:
            return True
    return False


def _build_id(f: BinaryIO, end: str, sections: dict[str, _Section]) -> bytes | None:
    for section in sections.values():
        if section.type != SHT_NOTE or section.size > 1 << 20:
            continue
        f.seek(section.offset)
        data, pos = f.read(section.size), 0
        while pos + 12 <= len(data):
            namesz, descsz, note_type = struct.unpack_from(f"{end}III", data, pos)
            name_at = pos + 12
            desc_at = name_at + (namesz + 3) // 4 * 4
            if note_type == NT_GNU_BUILD_ID and data[name_at : name_at + namesz] == b"GNU\0":
                return data[desc_at : desc_at + descsz]
            pos = desc_at + (descsz + 3) // 4 * 4
    return None


def _text_hash(f: BinaryIO, text: _Section | None) -> bytes:
    """symbolic's fallback id: the first page of ``.text`` folded into 16 bytes by XOR."""
    assert text is not None
    f.seek(text.offset)
    page = f.read(min(PAGE_SIZE, text.size))
    folded = bytearray(16)
    for i, byte in enumerate(page):
        folded[i % 16] ^= byte
    return bytes(folded)


def _guid(data: bytes, little: bool) -> str:
    """A GUID read in the object's byte order, as symbolic's ``DebugId::from_guid_age``."""
    return str(uuid.UUID(bytes_le=data) if little else uuid.UUID(bytes=data))


def _features(sections: dict[str, _Section]) -> tuple[str, ...]:
    def present(name: str) -> bool:
        s = sections.get(name)
        return s is not None and s.size > 0 and s.type != SHT_NOBITS

    features = set()
    if present(".symtab") or present(".dynsym"):
        features.add("symtab")
    if present(".debug_info"):
        features.add("debug")
    if present(".eh_frame") or present(".debug_frame"):
        features.add("unwind")
    return tuple(sorted(features))
