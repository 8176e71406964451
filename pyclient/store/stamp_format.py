"""The stamp of a snapshot cache: which stored log the cache is the full reduction of, so that a
load whose log is still that one shows the cache at once and reads the log after ready (DESIGN
§5: the full reduction still runs on every load, and corrects what is shown)::

    learning_progress_snapshot_log[:{userId}]
        {"v":1,"log":"<32 hex>","cache":"<32 hex>","last":[<instant in µs>,"<eventId>"] or null}

``log`` is a hash of the log's head text and of the ids of its segments, ``cache`` a hash of the
snapshot cache's text, ``last`` the greatest order key of the log. A tab writes the stamp right
after it wrote both, and only when the snapshot it cached is the full reduction of the log it
wrote; a load uses it only when both hashes match what is stored now. Any other write (another
tab's, or one made while the reduction was not known) leaves a stamp that matches nothing,
which costs that load the normal start, nothing else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..core.eventlog import OrderKey
from ..core.models import LearningGuestProgress

__all__ = ["Stamp", "StartPoint", "decode_stamp", "encode_stamp", "log_digest", "text_digest"]

_VERSION = 1


@dataclass(frozen=True)
class Stamp:
    log: str
    cache: str
    last: OrderKey | None


@dataclass(frozen=True)
class StartPoint:
    """Where a load starts when the stamp matches: the cached snapshot, the greatest order key
    of the log, and the head's text as hashed (its events are already in the snapshot)."""

    snapshot: LearningGuestProgress
    last: OrderKey | None
    head: str


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def log_digest(head: str, segment_ids: Iterable[str]) -> str:
    """The hash of a stored log: its head's text and the ids of its segments, in any order."""
    digest = hashlib.blake2b(head.encode(), digest_size=16)
    for segment_id in sorted(segment_ids):
        digest.update(b"\n" + segment_id.encode())
    return digest.hexdigest()


def encode_stamp(stamp: Stamp) -> str:
    last = None if stamp.last is None else list(stamp.last)
    value = {"v": _VERSION, "log": stamp.log, "cache": stamp.cache, "last": last}
    return json.dumps(value, separators=(",", ":"))


def decode_stamp(raw: str) -> Stamp | None:
    """A stored stamp, or ``None`` when the value is not one."""
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != _VERSION or set(data) != _MEMBERS:
        return None
    log, cache, last = data["log"], data["cache"], data["last"]
    if not (isinstance(log, str) and isinstance(cache, str)):
        return None
    if last is None:
        return Stamp(log, cache, None)
    if (
        isinstance(last, list)
        and len(last) == 2
        and type(last[0]) is int
        and isinstance(last[1], str)
    ):
        return Stamp(log, cache, (last[0], last[1]))
    return None


_MEMBERS = {"v", "log", "cache", "last"}
