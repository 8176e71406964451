"""File primitives of the build: content hashes (of a file, of a set of files), writes only on
change, mirroring a tree."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

# A path under a content-hashed name: a directory or file named `<name>-<12 hex>` or `<12 hex>`
# (app-…/, pyodide-…/, packages/<sha256>/…, packages/pyodide-lock-….json). The build puts every
# file whose bytes can change under such a name; the server and the service worker treat them as
# immutable. (pyserver/static.py holds the same rule; tests keep the two in agreement.)
HASHED_PATH = r"(?:^|/)(?:[a-z][a-z0-9-]*-)?[0-9a-f]{12}(?:/|\.[a-z0-9]+$)"

_digests: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """The file's sha256 (hex), remembered for this run by path, size and mtime."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _digests:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _digests[key] = h.hexdigest()
    return _digests[key]


def content_name(files: dict[str, Path], length: int = 12) -> str:
    """The hash (hex, `length` digits) of a set of files: their relative names and contents."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + bytes.fromhex(sha256_file(files[rel])) + b"\0")
    return h.hexdigest()[:length]


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def copy_changed(files: dict[str, Path], dest: Path) -> int:
    """Copy each of `files` (relative name -> source) into `dest` unless its copy there has the
    same size and mtime; each replaced whole, never seen half-written. Returns how many."""
    copied = 0
    dest.mkdir(parents=True, exist_ok=True)
    for rel, src in files.items():
        out = dest / rel
        if out.exists() and not out.is_symlink():
            st_s, st_d = src.stat(), out.stat()
            if st_s.st_size == st_d.st_size and int(st_s.st_mtime) == int(st_d.st_mtime):
                continue
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        shutil.copy2(src, tmp)
        os.replace(tmp, out)  # a page or test reading the dist never sees half a file
        copied += 1
    return copied


def sync_tree(
    files: dict[str, Path], dest: Path, keep: frozenset[str] = frozenset()
) -> tuple[int, int]:
    """Make `dest` hold exactly `files` (relative name -> source) and whatever of `keep` (relative
    names) it holds; return (copied, removed)."""
    copied = copy_changed(files, dest)
    removed = 0
    wanted = {dest / rel for rel in (*files, *keep)}
    for p in sorted(dest.rglob("*"), reverse=True):
        if p.name.endswith(".tmp") and p.name.startswith("."):
            continue  # another build's copy in flight
        if p.is_file() and p not in wanted:
            p.unlink()
            removed += 1
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()
    return copied, removed
