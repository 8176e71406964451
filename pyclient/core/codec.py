"""Reading and writing events as JSON, and the canonical JSON that snapshots are compared in.

Canonical JSON: keys sorted, no whitespace, camelCase keys, non-ASCII kept as is. Two runtimes
that hold the same event set must produce byte-identical canonical snapshots.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import from_json

from ..errors import InvalidEventsError
from .models import Event, KnownEvent

__all__ = [
    "canonical_json",
    "decode_json",
    "dump_events",
    "gc_paused",
    "parse_events",
    "parse_known_events",
]

_EVENT_LOG: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
_KNOWN_EVENTS: TypeAdapter[list[KnownEvent]] = TypeAdapter(list[KnownEvent])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Parsing a large log allocates hundreds of thousands of small objects; without this, the
    collector runs over and over and triples the time (measured), though nothing is cyclic.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _validate[T](adapter: TypeAdapter[T], data: bytes | str) -> T:
    try:
        with gc_paused():
            return adapter.validate_json(data)
    except ValidationError as exc:
        errors = [dict(e) for e in exc.errors(include_url=False, include_context=False)]
        raise InvalidEventsError(f"invalid events: {exc}", errors) from None


def parse_events(data: bytes | str) -> list[Event]:
    """Parse a JSON array of events read from a log; unknown event types are kept."""
    return _validate(_EVENT_LOG, data)


def parse_known_events(data: bytes | str) -> list[KnownEvent]:
    """Parse a JSON array of events, rejecting types this version does not know."""
    return _validate(_KNOWN_EVENTS, data)


def decode_json(data: bytes | str) -> Any:
    """The JSON value of ``data`` as plain Python data (dicts, lists, strings, numbers).

    Decoded by the parser :func:`parse_events` validates with, so it accepts the same texts
    (duplicate keys: the last one wins), except that ``NaN`` and infinities are refused here.
    Raises ``ValueError`` on anything that is not JSON.
    """
    return from_json(data, allow_inf_nan=False, cache_strings=True)


def dump_events(events: Sequence[Event]) -> str:
    """Compact JSON array of events, each written exactly as it was read (camelCase)."""
    return _EVENT_LOG.dump_json(list(events)).decode()


def canonical_json(value: BaseModel | Sequence[BaseModel] | Any) -> str:
    """Sorted keys, no whitespace, by alias; for models, lists of models or plain JSON data."""
    data: Any
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json", by_alias=True)
    elif isinstance(value, list | tuple) and all(isinstance(v, BaseModel) for v in value):
        data = [v.model_dump(mode="json", by_alias=True) for v in value]
    else:
        data = value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
