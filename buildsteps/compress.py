"""Precompressed variants: `<file>.br` and `<file>.gz` beside every compressible file of the dist,
made by ServeStatic's `Compressor` (brotli at quality 11, gzip at level 9), kept only when it
is clearly smaller (ServeStatic's rule: at most 95% of the file). The server picks one by
`Accept-Encoding`; browsers decode them, so the service worker never precaches them.

ServeStatic's skip list names `zip` among formats already compressed. Here the zips and wheels
are stored without deflate (stored_zips.py) so that brotli compresses each archive as a whole,
which is where most of their bytes go: so `zip` is dropped from the list (`whl` was never on it).

Brotli at quality 11 takes about 2 s a MB on one core: variants are cached by the sha256 of the
file (.cache/build/compressed/), made in parallel, and a re-run with nothing changed only hashes.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from buildsteps import log
from buildsteps.files import sha256_file, write_if_changed
from buildsteps.layout import CACHE

STEP = "6/6 dist (precompressed)"
VARIANTS = {".br": "Brotli", ".gz": "Gzip"}


def _compressor() -> Any:  # servestatic's Compressor (untyped)
    try:
        from servestatic.compress import Compressor
    except ImportError as e:  # pragma: no cover - bootstrap installs it
        from buildsteps import BuildError

        raise BuildError("servestatic is missing: run scripts/bootstrap (pyproject.toml).") from e
    skip = [e for e in Compressor.SKIP_COMPRESS_EXTENSIONS if e != "zip"]
    return Compressor(extensions=skip, use_gzip=True, use_brotli=True, use_zstd=False, quiet=True)


def _salt() -> str:
    versions = [importlib.metadata.version(p) for p in ("servestatic", "brotli")]
    return json.dumps(["v1", *versions])


def precompressed(files: dict[str, Path]) -> dict[str, Path]:
    """`<rel>.br` / `<rel>.gz` -> the cached variant, for each of `files` worth compressing."""
    compressor = _compressor()
    cache = CACHE / "compressed"
    salt = _salt()
    todo: dict[str, tuple[Path, Path]] = {}  # key -> (source, cache dir)
    keys: dict[str, str] = {}
    for rel, src in files.items():
        if not compressor.should_compress(rel):
            continue
        key = sha256_file(src)
        keys[rel] = key
        record = cache / key[:2] / key / "kept.json"
        if not record.exists() or json.loads(record.read_text()).get("salt") != salt:
            todo[key] = (src, record.parent)

    def compress(src: Path, out: Path) -> None:
        data = src.read_bytes()
        kept = []
        for ext, name in VARIANTS.items():
            if ext == ".br":
                packed = compressor.compress_brotli(data)
            else:
                packed = compressor.compress_gzip(data)
            if compressor.is_compressed_effectively(name, src.name, len(data), packed):
                write_if_changed(out / f"variant{ext}", packed)
                kept.append(ext)
        write_if_changed(out / "kept.json", json.dumps({"salt": salt, "kept": kept}).encode())

    if todo:
        mb = sum(src.stat().st_size for src, _ in todo.values()) / 1e6
        log(STEP, f"compressing {len(todo)} files ({mb:.1f} MB), brotli and gzip")
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            jobs = sorted(todo.values(), key=lambda job: -job[0].stat().st_size)  # big first
            for future in [pool.submit(compress, *job) for job in jobs]:
                future.result()
    out: dict[str, Path] = {}
    for rel, key in keys.items():
        folder = cache / key[:2] / key
        for ext in json.loads((folder / "kept.json").read_text())["kept"]:
            out[rel + ext] = folder / f"variant{ext}"
    return out
