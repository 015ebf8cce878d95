"""`.apip` API profiles: a ZIP (or an unzipped folder named `*.apip`) of `.rsd` files plus metadata.

Owns: listing and reading the `.rsd` members (each becomes a `Profile` whose path is `X.apip/member.rsd`),
`META-INF/MANIFEST.MF` (Java manifest: `Key: Value` lines, a line starting with one space continues the
previous value) and `ConnectionProperties.json`. Must not: interpret the metadata (required properties,
connection defaults are for the options layer), evaluate templates, or raise for a bad archive: a
ZIP that cannot be read yields one `Profile` carrying an `RSD011` diagnostic.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # imported where an archive is read: a run of one .rsd file never needs it
    import zipfile

from ..errors import Diagnostic, Loc
from .ast import Profile
from .lenient import Pos
from .parse import RSD011, build_profile, decode, diagnostic, error_profile

MANIFEST = "META-INF/MANIFEST.MF"
CONNECTION_PROPERTIES = "ConnectionProperties.json"

# Bounds on what one archive may make rsd read (issue #12: a 1 MB archive once took 235 s and 4.2 GB). The largest
# public profile is 30 KB and real archives hold hundreds of members; a zip bomb holds one huge member or many
# that compress a thousand times.
#: the most bytes one member may hold once decompressed
MAX_MEMBER_BYTES = 1 << 20
#: the most bytes all members of one archive may hold once decompressed
MAX_ARCHIVE_BYTES = 32 << 20
#: the most `.rsd` members one archive may hold
MAX_MEMBERS = 10_000
#: a member above `RATIO_FLOOR` bytes that decompresses more than this many times is not text a person wrote
MAX_RATIO = 100
RATIO_FLOOR = 64 << 10


@dataclass(frozen=True, slots=True, eq=False)
class ApipProfile:
    """One `.apip` archive or folder: its `.rsd` profiles (sorted by member name) and its metadata."""

    path: str
    profiles: tuple[Profile, ...] = ()
    manifest: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    connection_properties: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    diagnostics: tuple[Diagnostic, ...] = ()  # problems with the archive itself (RSD011)


def parse_manifest(text: str) -> Mapping[str, str]:
    """A Java manifest's main section as a read-only mapping (keys as written)."""
    out: dict[str, str] = {}
    last = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith(" ") and last is not None:
            out[last] += line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            last = key.strip()
            out[last] = value[1:] if value.startswith(" ") else value
        elif not line.strip():
            last = None
    return MappingProxyType({k: v.strip() for k, v in out.items()})


def freeze(value: Any) -> Any:
    """JSON value → the same value with dicts as MappingProxyType and lists as tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def _json(data: bytes, path: str, problems: list[Diagnostic]) -> Mapping[str, Any]:
    try:
        value = json.loads(decode(data) or "{}")
    except ValueError as exc:
        problems.append(diagnostic(path, Pos(1, 1), RSD011, f"cannot read {CONNECTION_PROPERTIES}: {exc}"))
        return MappingProxyType({})
    return freeze(value) if isinstance(value, dict) else MappingProxyType({})


def _is_rsd(name: str) -> bool:
    return name.lower().endswith(".rsd")


def read_apip(path: str | os.PathLike[str]) -> ApipProfile:
    """Read an `.apip` ZIP archive, or a folder holding the same files."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return _read_folder(path)
    import zipfile

    problems: list[Diagnostic] = []
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            members = sorted((n for n in names if _is_rsd(n) and not n.endswith("/")), key=str.lower)
            if len(members) > MAX_MEMBERS:
                problems.append(Diagnostic(Loc(path, 1, 1), "error", RSD011,
                                           f"the archive has {len(members):,} .rsd members; rsd reads at most "
                                           f"{MAX_MEMBERS:,} (the rest are not read)"))
                members = members[:MAX_MEMBERS]
            profiles = []
            budget = MAX_ARCHIVE_BYTES
            for name in members:
                member_path = f"{path}/{name}"
                try:
                    data = _read_member(zf, name, budget)
                except _TooLarge as too:
                    profiles.append(error_profile(member_path, "", diagnostic(member_path, Pos(1, 1), RSD011,
                                                                             too.reason)))
                    continue
                except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as exc:
                    d = diagnostic(member_path, Pos(1, 1), RSD011, f"cannot read archive member: {exc}")
                    profiles.append(error_profile(member_path, "", d))
                    continue
                budget -= len(data)
                profiles.append(build_profile(decode(data), member_path))
            manifest = (parse_manifest(decode(_read_member(zf, MANIFEST, MAX_MEMBER_BYTES)))
                        if MANIFEST in names else MappingProxyType({}))
            props = (_json(_read_member(zf, CONNECTION_PROPERTIES, MAX_MEMBER_BYTES),
                           f"{path}/{CONNECTION_PROPERTIES}", problems)
                     if CONNECTION_PROPERTIES in names else MappingProxyType({}))
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError, _TooLarge) as exc:
        reason = exc.reason if isinstance(exc, _TooLarge) else str(exc)
        d = Diagnostic(Loc(path, 1, 1), "error", RSD011, f"cannot read .apip archive: {reason}")
        return ApipProfile(path=path, diagnostics=(d,))
    return ApipProfile(path, tuple(profiles), manifest, props, tuple(problems))


class _TooLarge(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _read_member(zf: zipfile.ZipFile, name: str, budget: int) -> bytes:
    """A member's bytes, refused (`_TooLarge`) before it is read when its declared size or compression ratio says
    it is no profile, or when the archive's budget is spent; never more than the cap is decompressed (the declared
    size may lie: reading stops at the cap all the same)."""
    info = zf.getinfo(name)
    cap = min(MAX_MEMBER_BYTES, budget)
    if budget <= 0:
        raise _TooLarge(f"not read: the archive's members already hold {MAX_ARCHIVE_BYTES >> 20} MiB, the most rsd "
                        f"reads from one archive")
    if info.file_size > cap:
        raise _TooLarge(f"not read: the member holds {info.file_size:,} bytes once decompressed; a profile may hold "
                        f"at most {cap:,}")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise _TooLarge(f"not read: the member decompresses {info.file_size // max(info.compress_size, 1):,} times "
                        f"({info.compress_size:,} to {info.file_size:,} bytes), more than text does (a zip bomb?)")
    with zf.open(info) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise _TooLarge(f"not read: the member holds more than {cap:,} bytes once decompressed")
    return data


def _read_folder(path: str) -> ApipProfile:
    from . import read_profile  # the same file reading as for loose .rsd files

    problems: list[Diagnostic] = []
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files.extend(os.path.join(dirpath, f) for f in filenames if _is_rsd(f))
    files.sort(key=lambda f: os.path.relpath(f, path).lower())
    manifest_path = os.path.join(path, *MANIFEST.split("/"))
    manifest: Mapping[str, str] = MappingProxyType({})
    props: Mapping[str, Any] = MappingProxyType({})
    try:
        if os.path.isfile(manifest_path):
            with open(manifest_path, "rb") as fh:
                manifest = parse_manifest(decode(fh.read()))
        props_path = os.path.join(path, CONNECTION_PROPERTIES)
        if os.path.isfile(props_path):
            with open(props_path, "rb") as fh:
                props = _json(fh.read(), props_path, problems)
    except OSError as exc:
        problems.append(Diagnostic(Loc(path, 1, 1), "error", RSD011, f"cannot read .apip metadata: {exc}"))
    return ApipProfile(path, tuple(read_profile(f) for f in files), manifest, props, tuple(problems))
