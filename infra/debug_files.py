"""Reading a debug information file the way Sentry does: with its own ``symbolic`` library.

``detect`` is Sentry's ``detect_dif_from_path`` followed by the checks of its ``assemble_dif``
task: object files (ELF, Mach-O, PE, PDB, Portable PDB, Breakpad ``.sym``, WASM, source
bundles) are opened as a symbolic ``Archive``; BCSymbolMaps and UUID-map plists are told apart
by their first bytes, as Sentry does, and need the debug id the client named. The file is
memory-mapped by symbolic, never read whole into Python.
"""

from __future__ import annotations

import os.path
from pathlib import Path

from symbolic.debuginfo import Archive, BcSymbolMap, Object, UuidMapping, normalize_debug_id
from symbolic.exceptions import ObjectErrorUnsupportedObject, SymbolicError

from commands.uploads import DebugFile

# Sentry's ``KNOWN_DIF_FORMATS``, the other way round: what a file of each format is served as.
DIF_MIMETYPES = {
    "breakpad": "text/x-breakpad",
    "macho": "application/x-mach-binary",
    "elf": "application/x-elf-binary",
    "pe": "application/x-dosexec",
    "pdb": "application/x-ms-pdb",
    "wasm": "application/wasm",
    "proguard": "text/x-proguard+plain",
    "sourcebundle": "application/x-sentry-bundle+zip",
    "bcsymbolmap": "application/x-bcsymbolmap",
    "uuidmap": "application/x-debugid-map",
    "il2cpp": "application/x-il2cpp-json",
    "portablepdb": "application/x-portable-pdb",
}
# The formats whose object name is the uploaded file's name (``create_dif_from_id``).
NAMED_AS_UPLOADED = {
    "macho",
    "elf",
    "pdb",
    "pe",
    "wasm",
    "sourcebundle",
    "bcsymbolmap",
    "uuidmap",
    "portablepdb",
}


class BadDif(ValueError):
    """The file is no debug file Sentry would keep; the message is Sentry's assemble detail."""


def detect(path: Path, name: str, debug_id: str | None) -> tuple[str, DebugFile]:
    """The object name and what Sentry records of the one object in the file at ``path``."""
    name = os.path.basename(name)
    with open(path, "rb") as f:
        head = f.read(11)
    if head.startswith(b"BCSymbolMap"):
        return name, _bcsymbolmap(path, debug_id)
    if head.startswith(b"<?xml"):
        return name, _uuidmap(path, name, debug_id)
    try:
        objects = [_describe(o, debug_id) for o in Archive.open(str(path)).iter_objects()]
    except ObjectErrorUnsupportedObject as exc:
        raise BadDif(f"Unsupported debug information file: {exc.message}") from None
    except SymbolicError as exc:
        raise BadDif(f"Invalid debug information file: {exc.message}") from None
    # Only split files are accepted: sentry-cli uploads each architecture of a fat file alone.
    if len(objects) != 1:
        raise BadDif(f"Object contains {len(objects)} architectures (1 expected)")
    return _object_name(objects[0].file_format, name), objects[0]


def _describe(obj: Object, client_id: str | None) -> DebugFile:
    """Sentry's ``DifMeta.from_object``: the client may only change the age of the debug id."""
    debug_id = obj.debug_id
    wanted = _normalized(client_id)
    if debug_id and wanted and debug_id[:36] == wanted[:36]:
        debug_id = wanted
    return DebugFile(
        debug_id=debug_id,
        code_id=obj.code_id,
        cpu_name=obj.arch,
        object_kind=obj.kind,
        file_format=obj.file_format,
        features=tuple(sorted(obj.features)),
    )


def _object_name(file_format: str, name: str) -> str:
    if file_format == "breakpad":
        return name.removesuffix(".sym")
    if file_format in NAMED_AS_UPLOADED:
        return name
    raise BadDif(f"Unsupported debug information file: unknown dif type {file_format!r}")


def _normalized(debug_id: str | None) -> str | None:
    if not debug_id:
        return None
    try:
        return normalize_debug_id(debug_id)
    except SymbolicError:
        return None


def _bcsymbolmap(path: Path, debug_id: str | None) -> DebugFile:
    if debug_id is None:
        raise BadDif("Missing debug_id for BCSymbolMap")
    try:
        # Sentry keeps the client's id as sent; a normalized one is what lookups will use.
        debug_id = normalize_debug_id(debug_id)
        BcSymbolMap.open(str(path))
    except SymbolicError as exc:
        raise BadDif(f"Invalid BCSymbolMap: {exc.message}") from None
    return _mapping(debug_id, "bcsymbolmap")


def _uuidmap(path: Path, name: str, debug_id: str | None) -> DebugFile:
    try:
        # Without an id the file's name is taken for it (as extracted from Apple's zips).
        debug_id = normalize_debug_id(debug_id or os.path.splitext(name)[0])
        UuidMapping.from_plist(debug_id, str(path))
    except SymbolicError as exc:
        raise BadDif(f"Invalid UuidMap: {exc.message}") from None
    return _mapping(debug_id, "uuidmap")


def _mapping(debug_id: str, file_format: str) -> DebugFile:
    """A map file has no object kind nor features (Sentry stores no ``data`` for it)."""
    return DebugFile(debug_id, None, "any", "", file_format, ())
