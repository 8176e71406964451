"""File primitives of the build: content hashes, writes only on change, mirroring a tree."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def sync_tree(files: dict[str, Path], dest: Path) -> tuple[int, int]:
    """Make `dest` hold exactly `files` (relative name -> source); return (copied, removed)."""
    copied = removed = 0
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
    keep = {dest / rel for rel in files}
    for p in sorted(dest.rglob("*"), reverse=True):
        if p.name.endswith(".tmp") and p.name.startswith("."):
            continue  # another build's copy in flight
        if p.is_file() and p not in keep:
            p.unlink()
            removed += 1
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()
    return copied, removed
