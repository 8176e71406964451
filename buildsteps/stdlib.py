"""The standard library the page ships: the precompiled python_stdlib.zip cut down to the
modules named in buildsteps/stdlib-keep.txt (what the client was measured to import, plus a
commented safety list), written reproducibly.

An entry `a.b` keeps the module `a/b.py` (shipped as its bytecode `a/b.pyc`) or the whole
package `a/b/` (its modules and data files); `a.b.__init__` keeps only the package's own module;
the `__init__` of every package above a kept module is kept with it. An entry that names nothing
in the zip stops the build (a typo, or a module that a new Pyodide moved).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from buildsteps import BuildError

KEEP_LIST = Path(__file__).with_name("stdlib-keep.txt")
_NAME = re.compile(r"[A-Za-z_][\w-]*(\.[A-Za-z_]\w*)*")

# The trimmed zip is written deflated; buildsteps/stored_zips.py decides how it ships (stored,
# with the figures for either way).


def read_keep_list(path: Path = KEEP_LIST) -> list[str]:
    """The dotted names of a keep list (comments and blank lines dropped)."""
    names: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not _NAME.fullmatch(line):
            raise BuildError(f"{path.name}: {line!r} is not a dotted module name.")
        names.append(line)
    return names


def _module_of(member: str) -> str | None:
    """The dotted module a zip member holds (`a/b/__init__.pyc` -> `a.b`), or None."""
    p = PurePosixPath(member)
    if member.endswith("/") or p.suffix not in (".py", ".pyc"):
        return None
    parts = [*p.parent.parts, p.stem]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(members: list[str]) -> set[str]:
    """The dotted modules that zip members hold."""
    return {m for m in map(_module_of, members) if m is not None}


def kept_members(members: list[str], keep: list[str]) -> list[str]:
    """The members of a standard library zip that `keep` keeps, in their order."""
    init_only = {k.removesuffix(".__init__") for k in keep if k.endswith(".__init__")}
    whole = {k for k in keep if not k.endswith(".__init__")}
    above = {
        ".".join(k.split(".")[:i]) for k in whole | init_only for i in range(1, k.count(".") + 1)
    }

    def entry_for(dotted: str, is_init: bool) -> str | None:
        """The keep entry that keeps `dotted` (a module, or a folder when not is_init)."""
        if is_init and dotted in init_only:
            return dotted + ".__init__"
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            if ".".join(parts[:i]) in whole:
                return ".".join(parts[:i])
        return None

    out: list[str] = []
    matched: set[str] = set()
    for member in members:
        path = PurePosixPath(member)
        module = _module_of(member)
        if module is None:  # a directory entry or a data file: kept inside a whole package
            folder = ".".join(path.parts if member.endswith("/") else path.parts[:-1])
            if folder and entry_for(folder, False) is not None:
                out.append(member)
            continue
        is_init = path.stem == "__init__"
        entry = entry_for(module, is_init)
        if entry is not None:
            matched.add(entry)
            out.append(member)
        elif is_init and module in above:
            out.append(member)
    unknown = sorted(set(keep) - matched)
    if unknown:
        raise BuildError(
            f"{KEEP_LIST.name} names what the standard library zip lacks: {', '.join(unknown)}."
        )
    return out


def trim_stdlib(src: Path, dst: Path, keep: list[str]) -> int:
    """Write to `dst` the members of the zip `src` that `keep` keeps; return how many modules.

    Members keep their order, names, dates and modes, so the same input gives the same bytes.
    """
    method = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(src) as zin:
        infos = {i.filename: i for i in zin.infolist()}
        members = kept_members(list(infos), keep)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", compression=method) as zout:
            for name in members:
                info = infos[name]
                out = zipfile.ZipInfo(name, date_time=info.date_time)
                out.external_attr = info.external_attr
                out.compress_type = method
                zout.writestr(out, zin.read(info), compresslevel=9)
    tmp.replace(dst)
    return len(modules(members))
