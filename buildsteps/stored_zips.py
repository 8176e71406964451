"""Step 4b: the shipped zips (python_stdlib.zip and the wheels) written again with their members
stored, not deflated, so that the server's brotli compresses each archive as a whole.

Deflate works member by member with a 32 KB window; brotli over a deflated zip finds almost
nothing left (1-4% here). Over the stored zip it sees every module at once. Zip readers
(Pyodide's wheel installer, zipimport) read stored members without inflating them. The cost:
browsers keep the decoded (stored) bytes in their caches, and Pyodide holds the standard library
zip in memory for the page's life (a wheel is unpacked and dropped: see
scripts/pyodide-precompile.mjs for the wheels' figures).

The standard library, stored or deflated: measured on the trimmed, sourceless zip of Pyodide
314.0.7 (226 members, 204 modules; buildsteps/bytecode.py), booting the runtime with the shipped
wheels and importing pyclient.bridge under node --expose-gc (medians of 14 alternating runs):

                zip       br -q 11   held    resident   peak     boot     boot + import
    deflated    1.78 MB   1.77 MB    18.6    213        245      557 ms   812 ms
    stored      4.26 MB   1.21 MB    21.1    204        242      531 ms   799 ms

held: MB of array buffers after garbage collection (process.memoryUsage), beside the wasm heap,
whose HEAP8.length is 37.7 MB either way; resident and peak: MB of RSS after the import and at
most. Stored holds the 2.5 MB it does not inflate; the resident sizes are within the noise (in
two other sets of runs stored was 4 and 7 MB above), and so are the times (stored was 26 and
38 ms ahead at boot in the two sets run on a quiet machine). Stored sends 0.56 MB less on every
first visit: stored it is. (With the sources beside the bytecode, as shipped before, the same
choice held 5.1 MB more and 19 to 25 MB more resident, for 0.9 MB less on the wire: 7.78 MB
stored, 1.76 MB as brotli.)

Member names, order, times and attributes are kept; the output is a function of the input, so
the wheels' sha256 (in pyodide-lock.json) is stable. Cached by input hash.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from buildsteps import log
from buildsteps.files import sha256_file
from buildsteps.layout import CACHE

STEP = "4/6 bytecode (zips stored)"
_VERSION = b"stored-zips v1"


def _store(src: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = zipfile.ZIP_STORED
            out.external_attr = info.external_attr
            out.create_system = info.create_system
            out.comment = info.comment
            zout.writestr(out, zin.read(info))
    os.replace(tmp, dest)


def store_zips(zips: list[Path]) -> list[Path]:
    """The same zips, members stored (cached copies, same names, same order as given)."""
    out = []
    made = 0
    for src in zips:
        key = hashlib.sha256(_VERSION + bytes.fromhex(sha256_file(src))).hexdigest()[:16]
        dest = CACHE / "stored" / key / src.name
        if not dest.exists():
            _store(src, dest)
            made += 1
        out.append(dest)
    log(STEP, f"{made} written, {len(zips) - made} up to date")
    return out
