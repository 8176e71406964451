"""web/runtime-table.js's linking hook, under node on a small module linked as Emscripten links
the runtime (tests/web/runtime_table_run.mjs): the JS functions whose addresses the module
imports become Wasm functions a table takes, one per function, doing what the JS functions do,
while Emscripten links (its linking simulated as it does it: the same slot for every name as
without the hook), and are put back afterwards; what the module exports, and what cannot be
wrapped, is left as it was. (The real runtime linked so is restored and run in
tests/test_pyodide_runtime.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.node_runner import run_node

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("runtime_table_run.mjs")


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_node(RUNNER, ROOT / "web" / "runtime-table.js")


def test_the_instance_reaches_emscripten(run: dict[str, Any]) -> None:
    assert run["linked"] is True


def test_only_js_functions_whose_address_is_taken_are_wrapped(run: dict[str, Any]) -> None:
    # not: the module's own export, a function with no or an unknown signature, a stub, a
    # native function, a number
    assert run["changed"] == ["add", "add_again", "halve", "ping", "wide"]
    assert run["unchangedTableTakes"] is False  # a JS function as it was: no table takes it


def test_a_table_takes_every_wrapped_function(run: dict[str, Any]) -> None:
    assert run["tableTakes"] == dict.fromkeys(run["changed"], True)


def test_one_function_under_two_names_is_one_wrapper(run: dict[str, Any]) -> None:
    assert run["sameWrapper"] is True


def test_wrapped_functions_do_what_the_js_functions_do(run: dict[str, Any]) -> None:
    assert run["add"] == 42
    assert run["wide"] == "42"  # i64 as BigInt both ways
    assert run["halve"] == 2.5
    assert run["pinged"] == 1


def test_every_name_gets_the_slot_emscripten_gives_it_without_the_hook(run: dict[str, Any]) -> None:
    assert run["slots"] == run["plainSlots"]
    assert run["slots"] == {"add": 1, "add_again": 1, "wide": 2, "halve": 3, "ping": 4, "native": 5}


def test_the_js_functions_are_put_back_once_linked(run: dict[str, Any]) -> None:
    assert run["restored"] is True
