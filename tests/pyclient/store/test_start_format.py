"""The stored start point: read back as written, anything else not read."""

from __future__ import annotations

import json

from pyclient.store.start_format import StartPoint, decode_start, encode_start, text_digest


def test_a_start_point_is_read_back_as_written() -> None:
    for through in (None, (1_767_225_600_000_000, "e1")):
        start = StartPoint(1, frozenset({"a" * 32, "b" * 32}), "h", "s", through, 42)
        raw = encode_start(start)
        assert json.loads(raw)["v"] == 1 and decode_start(raw) == start


def test_what_is_not_a_start_point_is_not_read() -> None:
    good = json.loads(encode_start(StartPoint(1, frozenset(), "h", "s", None, 0)))
    for bad in ("{nope", "[]", json.dumps({**good, "own": -1}), json.dumps({**good, "x": 1})):
        assert decode_start(bad) is None
    assert decode_start(json.dumps({**good, "own": 10**15})) is None  # past year 9999
    assert decode_start(json.dumps({**good, "v": 2})) == "newer"


def test_a_digest_tells_texts_apart_and_takes_any_text() -> None:
    assert text_digest("abc") == text_digest("abc") != text_digest("abd")
    assert len(text_digest("\ud800 lone surrogate, as a JS string may hold")) == 32
