"""The reader: `.rsd` files and `.apip` archives → immutable `Profile`s (rsd.reader.ast).

Owns: the public reading API below and the reader's diagnostic codes (RSD001-RSD004 and RSD011, documented
in `parse.py`).
Must not: evaluate templates, run anything, or raise for a bad profile — problems are `Diagnostic`s on
the returned `Profile` (`profile.diagnostics`), so `rsd check` can report every file.

    read_text(text, path="<string>") -> Profile
    read_profile(path) -> Profile
    read_apip(path) -> ApipProfile
    read_paths(paths) -> list[Profile]
"""
from __future__ import annotations

import os
from typing import Iterable

from .apip import MAX_MEMBER_BYTES as MAX_PROFILE_BYTES
from .apip import ApipProfile, read_apip
from .ast import Profile
from .lenient import Pos
from .parse import (
    READER_CODES,
    RSD001,
    RSD002,
    RSD003,
    RSD004,
    RSD011,
    build_profile,
    decode,
    diagnostic,
    error_profile,
)

__all__ = [
    "ApipProfile",
    "Profile",
    "READER_CODES",
    "RSD001",
    "RSD002",
    "RSD003",
    "RSD004",
    "RSD011",
    "read_apip",
    "read_paths",
    "read_profile",
    "read_text",
]


def read_text(text: str | bytes, path: str = "<string>") -> Profile:
    """Read a profile from its text (bytes are decoded: BOM, XML declaration, UTF-8, cp1252)."""
    if isinstance(text, (bytes, bytearray)):
        text = decode(bytes(text))
    return build_profile(text, str(path))


def read_profile(path: str | os.PathLike[str]) -> Profile:
    """Read one `.rsd` file. A file that cannot be read gives a Profile with an RSD011 diagnostic."""
    spath = os.fspath(path)
    try:
        with open(spath, "rb") as fh:
            data = fh.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return error_profile(spath, "", diagnostic(spath, Pos(1, 1), RSD011, f"cannot read file: {reason}"))
    if len(data) > MAX_PROFILE_BYTES:
        return error_profile(spath, "", diagnostic(spath, Pos(1, 1), RSD011, f"not read: the file holds more than "
                                                   f"{MAX_PROFILE_BYTES:,} bytes, the most a profile may hold"))
    return build_profile(decode(data), spath)


def _is_apip(name: str) -> bool:
    return name.lower().endswith(".apip")


def _apip_profiles(path: str) -> list[Profile]:
    apip = read_apip(path)
    # Problems with the archive itself travel as profiles of their own so that `rsd check` reports them.
    return list(apip.profiles) + [error_profile(d.loc.path, "", d) for d in apip.diagnostics]


def _walk(folder: str) -> list[str]:
    """`.rsd` files and `.apip` archives/folders under `folder`, sorted, hidden folders skipped."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if _is_apip(d):
                found.append(os.path.join(dirpath, d))
            else:
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            if f.lower().endswith(".rsd") or _is_apip(f):
                found.append(os.path.join(dirpath, f))
    found.sort()
    return found


def read_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Profile]:
    """Read files, folders (recursively: `*.rsd`, `*.apip` archives and `*.apip` folders) in sorted order,
    `.apip` members included as `X.apip/member.rsd`. A path given twice is read once."""
    out: list[Profile] = []
    seen: set[str] = set()

    def add(profiles: Iterable[Profile]) -> None:
        for p in profiles:
            if p.path not in seen:
                seen.add(p.path)
                out.append(p)

    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            if _is_apip(path.rstrip("/\\")):
                add(_apip_profiles(path))
                continue
            for found in _walk(path):
                add(_apip_profiles(found) if _is_apip(found) else [read_profile(found)])
        elif _is_apip(path):
            add(_apip_profiles(path))
        else:
            add([read_profile(path)])
    return out
