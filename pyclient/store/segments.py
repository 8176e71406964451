"""The stored event log in segments (version 3): sealed, immutable segments and an open head,
so that adding events writes O(new events) bytes whatever the size of the history.

Keys (each starts with the log's key, so that the spec's ``storage`` listener sees every write)::

    <log key>                        the head:    {"v":3,"segments":[{"id":...,"n":...},...],
                                                   <columns>}
    <log key>:segment:<32 hex>       a segment:   {"v":3,"segment":"<id>",<columns>}

``<columns>`` are the members of the version 2 format (:mod:`.log_format`): the head's are the
events not sealed yet, a segment's are the events it sealed. A segment's id is a hash of its
eventIds, so two tabs sealing the same events write the same segment. A segment is written
before the head that lists it and never changes afterwards (a corrupt one is rewritten with
its valid events). The head lists the segments it knows, with their sizes; segments are also
found by their keys, so one that a racing tab's head write left out of the list is still read.

A head that holds :data:`SEAL_AT` events or more is sealed, a segment of :data:`SEAL_AT` events
at a time (the segment written, then the head without its events): what is left over stays in
the head. A segment rewritten with the valid events of a corrupt one keeps its id.

Versions 0 to 2 (the whole log in one value, :func:`~.log_format.decode_log`) are read as a
head with no segments; the store rewrites them as version 3 on its next write.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..core.codec import gc_paused
from ..core.models import Event
from .keys import LOG_FORMAT_VERSION
from .log_format import LogText, decode_columns_steps, decode_log, run_steps

__all__ = [
    "SEAL_AT",
    "StoredHead",
    "decode_head",
    "decode_head_steps",
    "decode_segment",
    "decode_segment_steps",
    "encode_head",
    "encode_segment",
    "segment_id_of",
    "segment_ids_in",
    "segment_key",
]

#: A head is sealed into a segment once it holds this many events.
SEAL_AT: Final = 2048

_SEGMENT_ID: Final = re.compile(r"[0-9a-f]{32}\Z")


def segment_key(log_key: str, segment_id: str) -> str:
    """The key of one sealed segment of the log stored under ``log_key``."""
    return f"{log_key}:segment:{segment_id}"


def segment_ids_in(keys: Iterable[str], log_key: str) -> list[str]:
    """The ids of the segments of ``log_key`` among ``keys`` (values set aside excluded)."""
    prefix = f"{log_key}:segment:"
    found = []
    for key in keys:
        if key.startswith(prefix) and _SEGMENT_ID.match(key, len(prefix)):
            found.append(key[len(prefix) :])
    return sorted(found)


def segment_id_of(event_ids: Iterable[str]) -> str:
    """The id of the segment of these events: a hash of their sorted eventIds."""
    digest = hashlib.blake2b(digest_size=16)
    for event_id in sorted(event_ids):
        digest.update(event_id.encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class StoredHead:
    """A head as read: the segments it lists (id, size), its events, what was wrong with it
    (``None``: nothing) and whether it is of an older version (to rewrite)."""

    segments: list[tuple[str, int]] = field(default_factory=list)
    events: dict[str, Event] = field(default_factory=dict)
    problem: str | None = None
    legacy: bool = False


def encode_head(segments: Sequence[tuple[str, int]], log: LogText) -> str:
    listed = json.dumps([{"id": i, "n": n} for i, n in segments], separators=(",", ":"))
    return f'{{"v":{LOG_FORMAT_VERSION},"segments":{listed},{log.body()}}}'


def encode_segment(segment_id: str, log: LogText) -> str:
    return f'{{"v":{LOG_FORMAT_VERSION},"segment":"{segment_id}",{log.body()}}}'


def _listed(value: Any) -> list[tuple[str, int]] | None:
    if not isinstance(value, list):
        return None
    listed: list[tuple[str, int]] = []
    for item in value:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("id"), str)
            and _SEGMENT_ID.match(item["id"])
            and type(item.get("n")) is int
        ):
            return None
        listed.append((item["id"], item["n"]))
    return listed


def _parse(raw: str) -> Any:
    try:
        with gc_paused():
            return json.loads(raw)
    except ValueError:
        return None


def decode_head(raw: str) -> StoredHead:
    """A stored head (version 3), or a whole log of an older version. Never raises."""
    return run_steps(decode_head_steps(raw))


def decode_head_steps(raw: str) -> Generator[None, None, StoredHead]:
    """:func:`decode_head` in steps of bounded work (an older version's log in one)."""
    data = _parse(raw)
    version = data.get("v") if isinstance(data, dict) else None
    if type(version) is int and version > LOG_FORMAT_VERSION:
        return StoredHead(problem=f"format version {version} is newer than this client")
    if version != LOG_FORMAT_VERSION:
        events, problem = decode_log(raw)
        return StoredHead([], events, problem, legacy=True)
    assert isinstance(data, dict)
    head = StoredHead()
    listed = _listed(data.get("segments"))
    if listed is None:
        head.problem = "not a valid list of segments"
    else:
        head.segments = listed
    problem = yield from decode_columns_steps(data, head.events)
    head.problem = head.problem or problem
    return head


def decode_segment_steps(
    raw: str, segment_id: str
) -> Generator[None, None, tuple[dict[str, Event], str | None]]:
    """:func:`decode_segment` in steps of bounded work."""
    events: dict[str, Event] = {}
    data = _parse(raw)
    if not isinstance(data, dict):
        return events, "not valid JSON"
    version = data.get("v")
    if type(version) is int and version > LOG_FORMAT_VERSION:
        return events, f"format version {version} is newer than this client"
    if version != LOG_FORMAT_VERSION or data.get("segment") != segment_id:
        return events, "not a segment of this log"
    problem = yield from decode_columns_steps(data, events)
    return events, problem


def decode_segment(raw: str, segment_id: str) -> tuple[dict[str, Event], str | None]:
    """The events of a stored segment, and what was wrong with it. Never raises."""
    return run_steps(decode_segment_steps(raw, segment_id))
