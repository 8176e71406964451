"""Step 3b: the shipped third-party wheels without what nothing on the page loads: the parts
that buildsteps/wheel-drop.txt names, and the long description in each METADATA; each RECORD
rewritten to list exactly what the wheel holds. Cached by input hash.

METADATA keeps its headers and loses its body, the long description (a README; for pydantic,
its whole changelog: 144 KB of the wheel's 1.99 MB, 20 KB after brotli). At run time only
headers are read: Pyodide's loader reads `Name:`, importlib.metadata the version and the
requirements; nothing shows the description.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from buildsteps import BuildError, log
from buildsteps.files import sha256_file
from buildsteps.layout import CACHE

STEP = "3/6 wheels (trimmed)"
DROP_LIST = Path(__file__).with_name("wheel-drop.txt")
_ENTRY = re.compile(r"[\w*.+-]+(/[\w*.+-]+)*/?")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def read_drop_list(path: Path = DROP_LIST) -> list[str]:
    """The path patterns of a drop list (comments and blank lines dropped)."""
    entries: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        segments = line.rstrip("/").split("/")
        if not _ENTRY.fullmatch(line) or "**" in line or {".", ".."} & set(segments):
            raise BuildError(f"{path.name}: {line!r} is not a path inside a wheel.")
        entries.append(line)
    return entries


def matches(member: str, entry: str) -> bool:
    """Whether the wheel member `member` (a file's path) is what `entry` drops."""
    folder = entry.endswith("/")
    pattern = entry.rstrip("/")
    parts = member.split("/")
    if "/" not in pattern:  # a name at any depth: a folder's or the file's
        names = parts[:-1] if folder else parts[-1:]
        return any(fnmatchcase(name, pattern) for name in names)
    depth = pattern.count("/") + 1
    if folder:
        return len(parts) > depth and fnmatchcase("/".join(parts[:depth]), pattern)
    return len(parts) == depth and fnmatchcase(member, pattern)


def dropped_modules(entries: list[str]) -> list[str]:
    """The dotted modules (and packages) that `entries` drop by path: `a/b/` and `a/b.py` ->
    `a.b` (a package's submodules go with it). Patterns and data files name none."""
    out = []
    for entry in entries:
        path = PurePosixPath(entry.rstrip("/"))
        if not entry.endswith("/"):
            if path.suffix != ".py":
                continue
            path = path.with_suffix("")
        if all(_IDENTIFIER.fullmatch(part) for part in path.parts) and "/" in entry.rstrip("/"):
            out.append(".".join(path.parts))
    return out


def metadata_headers(data: bytes) -> bytes:
    """A METADATA file without its body (the long description): the headers and the blank
    line that ends them."""
    text = data.decode("utf-8").replace("\r\n", "\n")
    head, sep, _ = text.partition("\n\n")
    return (head + "\n\n").encode() if sep else data


def record(entries: list[tuple[str, bytes]], record_name: str) -> bytes:
    """A wheel's RECORD listing `entries` (name, bytes) and itself."""
    lines = []
    for name, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(data)}")
    lines.append(f"{record_name},,")
    return ("\n".join(lines) + "\n").encode()


def trim_wheel(src: Path, dst: Path, entries: list[str]) -> tuple[set[str], int]:
    """Write `src` to `dst` without the members `entries` drop, METADATA without its body and
    RECORD rewritten; return (the entries that matched, the bytes dropped, uncompressed)."""
    with zipfile.ZipFile(src) as zin:
        infos = [i for i in zin.infolist() if not i.is_dir()]
        record_name = next(
            (i.filename for i in infos if i.filename.endswith(".dist-info/RECORD")), None
        )
        if record_name is None:
            raise BuildError(f"{src.name} has no RECORD: is it a wheel?")
        kept: list[tuple[zipfile.ZipInfo, bytes]] = []
        matched: set[str] = set()
        dropped = 0
        for info in infos:
            if info.filename == record_name:
                continue
            hits = {e for e in entries if matches(info.filename, e)}
            if hits:
                matched |= hits
                dropped += info.file_size
                continue
            data = zin.read(info)
            if info.filename.endswith(".dist-info/METADATA"):
                dropped += len(data)
                data = metadata_headers(data)
                dropped -= len(data)
            kept.append((info, data))
    listing = record([(i.filename, data) for i, data in kept], record_name)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in kept:
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.external_attr = info.external_attr
            out.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(out, data)
        out = zipfile.ZipInfo(record_name, date_time=(1980, 1, 1, 0, 0, 0))
        out.external_attr = 0o644 << 16
        out.compress_type = zipfile.ZIP_DEFLATED
        zout.writestr(out, listing)
    tmp.replace(dst)
    return matched, dropped


def trim_wheels(wheels: list[Path], drop_list: Path = DROP_LIST) -> list[Path]:
    """The same wheels trimmed (cached copies, same names, same order as given)."""
    entries = read_drop_list(drop_list)
    salt = hashlib.sha256(drop_list.read_bytes() + Path(__file__).read_bytes()).hexdigest()
    out: list[Path] = []
    matched: set[str] = set()
    made, dropped = 0, 0
    for src in wheels:
        key = hashlib.sha256((salt + sha256_file(src)).encode()).hexdigest()[:16]
        dest = CACHE / "trimmed" / key / src.name
        hits_file = dest.with_name("matched.txt")
        if not dest.exists() or not hits_file.exists():
            hits, size = trim_wheel(src, dest, entries)
            hits_file.write_text("".join(f"{h}\n" for h in sorted(hits)), encoding="utf-8")
            made += 1
            dropped += size
        matched |= set(hits_file.read_text(encoding="utf-8").split())
        out.append(dest)
    unknown = [e for e in entries if e not in matched]
    if unknown:
        raise BuildError(
            f"{drop_list.name} names what no shipped wheel holds: {', '.join(unknown)}."
        )
    if made:
        log(STEP, f"{made} trimmed ({drop_list.name}): {dropped / 1e6:.2f} MB of files dropped")
    else:
        log(STEP, f"up to date ({len(wheels)} wheels)")
    return out
