"""Where the local git provider may read repositories: only inside the directories an operator
allowed (``EVENTRY_GIT_ROOTS``), so that a repository URL sent by one organization can never
name another organization's repository or any other file on the server.

A root may hold ``{org_id}``, replaced by the organization's numeric id (stable, unlike a slug
that can be renamed and taken by another organization). Unset, the one root is
``$EVENTRY_DATA_DIR/git/{org_id}``: each organization reads only its own directory. Paths are
compared after ``realpath`` (symlinks and ``..`` resolved), for the repository's path and for
the git directory git actually opens.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from infra.config import Settings

ORG_PLACEHOLDER = "{org_id}"
NOT_LOCAL = "Enter a local path or a file:// URL of a git repository."
OUTSIDE = "This location is outside the directories this server allows for the organization's repositories."


class OutsideRoots(ValueError):
    """A path that resolves outside every allowed root (the message names no path)."""


def templates(settings: Settings) -> tuple[str, ...]:
    return settings.git_roots or (str(settings.data_dir / "git" / ORG_PLACEHOLDER),)


def roots_for(settings: Settings, organization_id: int) -> list[Path]:
    """The organization's allowed directories, resolved now (a root removed later stops fetching)."""
    return [
        Path(os.path.realpath(t.replace(ORG_PLACEHOLDER, str(int(organization_id)))))
        for t in templates(settings)
    ]


def confine(path: Path | str, roots: Sequence[Path]) -> Path:
    """``path`` resolved, if it is one of ``roots`` or inside one; else ``OutsideRoots``."""
    try:
        real = Path(os.path.realpath(path))
        str(real).encode()  # bytes that are no UTF-8 (from a symlink) could never be recorded
    except ValueError:  # an embedded NUL, or such bytes: no path a repository can have
        raise OutsideRoots(OUTSIDE) from None
    if any(real == root or root in real.parents for root in roots):
        return real
    raise OutsideRoots(OUTSIDE)


def local_path(url: str) -> Path:
    """An absolute local path or ``file://`` URL as a path (``ValueError`` with the client's message)."""
    try:
        parsed = urlparse(url)
    except ValueError:  # e.g. an unclosed [ of an IPv6 host
        raise ValueError(NOT_LOCAL) from None
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        path = Path(unquote(parsed.path))
    elif not parsed.scheme:
        path = Path(url)
    else:
        raise ValueError(NOT_LOCAL)
    if not path.is_absolute():
        raise ValueError("The path of the repository must be absolute.")
    return path
