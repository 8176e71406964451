"""web/progress-client.d.ts, the JS API's types for host apps, checked by the TypeScript compiler
(e2e/package.json, installed by scripts/test): the example in examples/types, which uses every
declared member and names each once, compiles in strict mode; and a member declared but not
used there makes it fail. e2e/test_types_match_runtime.py compares the declarations with the
real client in Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DECLARATIONS = ROOT / "web" / "progress-client.d.ts"
EXAMPLE = ROOT / "examples" / "types"
TSC = ROOT / "e2e" / "node_modules" / "typescript" / "bin" / "tsc"


def tsc(*args: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: scripts/system-packages installs it")
    if not TSC.is_file():
        pytest.fail(f"{TSC.relative_to(ROOT)} is missing: scripts/test installs e2e/node_modules")
    return subprocess.run(
        [node, str(TSC), *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_the_example_type_checks_against_the_declarations() -> None:
    proc = tsc("--noEmit", "--listFiles", "-p", str(EXAMPLE))
    assert proc.returncode == 0, f"tsc --noEmit -p examples/types:\n{proc.stdout}{proc.stderr}"
    read = {Path(line).resolve() for line in proc.stdout.splitlines()}
    assert DECLARATIONS in read and EXAMPLE / "usage.ts" in read


def test_a_member_declared_but_not_in_the_example_fails(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    shutil.copytree(EXAMPLE, tmp_path / "examples" / "types")
    text = DECLARATIONS.read_text(encoding="utf-8")
    anchor = "  close(): void\n"
    assert text.count(anchor) == 1
    planted = text.replace(anchor, anchor + "  /** Planted. */\n  plantedMember(): void\n")
    (tmp_path / "web" / "progress-client.d.ts").write_text(planted, encoding="utf-8")
    proc = tsc("--noEmit", "-p", str(tmp_path / "examples" / "types"))
    assert proc.returncode != 0
    assert "error TS2741: Property 'plantedMember' is missing" in proc.stdout, proc.stdout
