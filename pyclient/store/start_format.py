"""A stored start point, version 1: what a log's snapshot cache is the reduction of, so that a
load can start from the cache without reading any of the log::

{"v":1,"rules":1,"segments":["<segment id>",...],"head":"<digest>","snapshot":"<digest>",
 "through":[<instant in µs>,"<eventId>"] or null,"own":<ms>}

``head`` and ``snapshot`` are :func:`text_digest` of the log's head and of the snapshot cache
exactly as stored; ``segments`` are every segment of the log; ``through`` is the greatest
:func:`~pyclient.core.eventlog.event_order_key` reduced into the snapshot, and ``own`` the latest
``occurredAt`` (ms) of the storing client's own events in the log (0: none). A start point is
used only while the head, the snapshot cache and the segment keys are still exactly what it
names: any other tab's write in between makes it unusable (the load reads the head as before).
What it says is not trusted beyond a load: the full reduction after ready corrects what is
shown. A newer version is not read (nor set aside as corrupt).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.eventlog import OrderKey
from ..core.timestamps import LATEST_MS

__all__ = ["START_FORMAT_VERSION", "StartPoint", "decode_start", "encode_start", "text_digest"]

START_FORMAT_VERSION: Final = 1


def text_digest(text: str) -> str:
    """A digest of a stored value's text (the same text gives the same digest everywhere)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class StartPoint:
    """What a snapshot cache is the reduction of (module docstring)."""

    rules: int
    segments: frozenset[str]
    head: str
    snapshot: str
    through: OrderKey | None
    own_ms: int


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    rules: int
    segments: list[str]
    head: str
    snapshot: str
    through: tuple[int, str] | None
    own: int = Field(ge=0, le=LATEST_MS)


def encode_start(start: StartPoint) -> str:
    return json.dumps(
        {
            "v": START_FORMAT_VERSION,
            "rules": start.rules,
            "segments": sorted(start.segments),
            "head": start.head,
            "snapshot": start.snapshot,
            "through": None if start.through is None else list(start.through),
            "own": start.own_ms,
        },
        separators=(",", ":"),
    )


def decode_start(raw: str) -> StartPoint | Literal["newer"] | None:
    """A stored start point; ``None`` when it is not one, ``"newer"`` when it is of a version
    this client does not read."""
    try:
        stored = _Stored.model_validate_json(raw)
    except ValidationError:
        try:
            version = json.loads(raw).get("v")
        except (ValueError, AttributeError):
            return None
        return "newer" if type(version) is int and version > START_FORMAT_VERSION else None
    return StartPoint(
        stored.rules,
        frozenset(stored.segments),
        stored.head,
        stored.snapshot,
        stored.through,
        stored.own,
    )
