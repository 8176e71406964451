"""buildsteps/wheel_trim.py: which members a drop list drops, a trimmed wheel (RECORD listing
exactly what it holds, METADATA without its long description), an entry naming nothing, and
the drop list against pyclient's source: a dropped module that pyclient imports anywhere (inside
functions too, on paths no test reaches) is named."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from buildsteps import BuildError, wheel_trim
from buildsteps.wheel_trim import (
    dropped_modules,
    matches,
    metadata_headers,
    read_drop_list,
    trim_wheel,
    trim_wheels,
)

from .conftest import pyclient_imports


@pytest.mark.parametrize(
    ("member", "entry", "dropped"),
    [
        ("pydantic/v1/main.py", "pydantic/v1/", True),
        ("pydantic/v1/__init__.py", "pydantic/v1/", True),
        ("pydantic/v1.py", "pydantic/v1/", False),
        ("pydantic/v10/x.py", "pydantic/v1/", False),
        ("pydantic/mypy.py", "pydantic/mypy.py", True),
        ("pydantic/mypy.pyc", "pydantic/mypy.py", False),
        ("other/pydantic/mypy.py", "pydantic/mypy.py", False),
        ("a/b/c.pyi", "*.pyi", True),
        ("c.pyi", "*.pyi", True),
        ("a/b/c.py", "*.pyi", False),
        ("a/tests/x.py", "tests/", True),
        ("a/tests", "tests/", False),
        ("x-1.0.dist-info/sboms/a.json", "x-*.dist-info/sboms/", True),
        ("x-1.0.dist-info/METADATA", "x-*.dist-info/sboms/", False),
        ("y-1.0.dist-info/sboms/a.json", "x-*.dist-info/sboms/", False),
    ],
)
def test_matches(member: str, entry: str, dropped: bool) -> None:
    assert matches(member, entry) is dropped


def test_the_drop_list_names_the_legacy_and_tooling_parts_of_pydantic() -> None:
    entries = read_drop_list()
    assert {"pydantic/v1/", "pydantic/mypy.py", "pydantic/experimental/"} <= set(entries)
    assert dropped_modules(entries) == [
        "pydantic.v1",
        "pydantic.mypy",
        "pydantic.experimental",
        "annotated_types.test_cases",
    ]


def test_a_malformed_entry_stops_the_build(tmp_path: Path) -> None:
    drop = tmp_path / "drop.txt"
    drop.write_text("# why\npkg/ok.py  # fine\npkg/../x.py\n")
    with pytest.raises(BuildError, match=r"'pkg/\.\./x\.py'"):
        read_drop_list(drop)


def test_pyclient_imports_no_dropped_module() -> None:
    dropped = dropped_modules(read_drop_list())
    wanted = sorted(
        f"{name} (imported by {module})"
        for module, name in pyclient_imports()
        if any(name == d or name.startswith(d + ".") for d in dropped)
    )
    assert not wanted, "buildsteps/wheel-drop.txt drops what pyclient imports: " + "; ".join(wanted)


METADATA = (
    b"Metadata-Version: 2.4\nName: pkg\nVersion: 1.0\nRequires-Dist: other>=1\n"
    b"Description-Content-Type: text/markdown\n\n# pkg\n\nA long README.\n\n## Changelog\n"
)


def _wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr("pkg-1.0.dist-info/RECORD", "".join(f"{n},,\n" for n in files))
    return path


def _read(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_a_trimmed_wheel_lists_exactly_what_it_holds(tmp_path: Path) -> None:
    src = _wheel(
        tmp_path / "pkg-1.0-py3-none-any.whl",
        {
            "pkg/__init__.py": b"from pkg import core\n",
            "pkg/core.py": b"X = 1\n",
            "pkg/core.pyi": b"X: int\n",
            "pkg/legacy/__init__.py": b"",
            "pkg/legacy/old.py": b"Y = 2\n",
            "pkg-1.0.dist-info/METADATA": METADATA,
            "pkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\n",
        },
    )
    dst = tmp_path / "out" / src.name
    matched, dropped = trim_wheel(src, dst, ["pkg/legacy/", "*.pyi", "nothing/"])
    assert matched == {"pkg/legacy/", "*.pyi"}
    files = _read(dst)
    assert sorted(files) == [
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/RECORD",
        "pkg-1.0.dist-info/WHEEL",
        "pkg/__init__.py",
        "pkg/core.py",
    ]
    assert files["pkg-1.0.dist-info/METADATA"] == METADATA.split(b"\n\n")[0] + b"\n\n"
    assert dropped == len(b"X: int\n") + len(b"Y = 2\n") + len(METADATA) - len(
        files["pkg-1.0.dist-info/METADATA"]
    )
    rows = list(csv.reader(io.StringIO(files["pkg-1.0.dist-info/RECORD"].decode())))
    assert sorted(r[0] for r in rows) == sorted(files)
    for name, digest, size in rows:
        if name.endswith("RECORD"):
            assert (digest, size) == ("", "")
            continue
        data = files[name]
        sha = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, size) == (f"sha256={sha}", str(len(data))), name


def test_metadata_without_a_body_is_left_as_it_is() -> None:
    headers = b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"
    assert metadata_headers(headers) == headers
    assert metadata_headers(METADATA.replace(b"\n", b"\r\n")).endswith(b"markdown\n\n")


def test_an_entry_no_wheel_holds_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wheel_trim, "CACHE", tmp_path / "cache")
    wheel = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/__init__.py": b""})
    drop = tmp_path / "drop.txt"
    drop.write_text("pkg/gone.py  # moved away\n*.pyi\n")
    with pytest.raises(BuildError, match=r"no shipped wheel holds: pkg/gone\.py, \*\.pyi\.$"):
        trim_wheels([wheel], drop)
    drop.write_text("pkg/__init__.py\n")
    (out,) = trim_wheels([wheel], drop)
    assert sorted(_read(out)) == ["pkg-1.0.dist-info/RECORD"]
