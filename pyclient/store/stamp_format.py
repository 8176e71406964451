"""The stamp of a snapshot cache: which stored log the cache is the full reduction of, so that a
load whose log is still that one shows the cache at once and reads the log after ready (DESIGN
§5: the full reduction still runs on every load, and corrects what is shown)::

    learning_progress_snapshot_log[:{userId}]
        {"v":1,"rules":1,"log":"<32 hex>","cache":"<32 hex>",
         "last":[<instant in µs>,"<eventId>"] or null,"own":<ms>}

``log`` is a hash of the log's head text and of the ids of its segments, ``cache`` a hash of the
snapshot cache's text, ``rules`` the reducer rules that made it, ``last`` the greatest order key
of the log and ``own`` the time of the latest event of this profile's client in it (its next
event comes after that one, whatever the clock says). A tab writes the stamp right after it
wrote both, and only when the snapshot it cached is the full reduction of the log it wrote; a
load uses it only when both hashes and the rules match. Any other write (another tab's, or one
made while the reduction was not known) leaves a stamp that matches nothing, which costs that
load the normal start, nothing else. A stamp of a newer version is left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from ..core.checkpoint import REDUCER_RULES
from ..core.eventlog import OrderKey
from ..core.models import LearningGuestProgress

__all__ = [
    "Stamp",
    "StartPoint",
    "decode_stamp",
    "encode_stamp",
    "log_digest",
    "text_digest",
]

_VERSION: Final = 1
_MEMBERS: Final = frozenset({"v", "rules", "log", "cache", "last", "own"})


@dataclass(frozen=True)
class Stamp:
    log: str
    cache: str
    last: OrderKey | None
    own: int
    rules: int = REDUCER_RULES


@dataclass(frozen=True)
class StartPoint:
    """Where a load starts when the stamp matches: the cached snapshot, the greatest order key
    of the log, the time of this client's latest event in it, the head's text as hashed (its
    events are already in the snapshot) and the segments the snapshot covers."""

    snapshot: LearningGuestProgress
    last: OrderKey | None
    own: int
    head: str
    segments: frozenset[str]


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate is text too


def text_digest(text: str) -> str:
    return hashlib.blake2b(_bytes(text), digest_size=16).hexdigest()


def log_digest(head: str, segment_ids: Iterable[str]) -> str:
    """The hash of a stored log: its head's text and the ids of its segments, in any order."""
    digest = hashlib.blake2b(_bytes(head), digest_size=16)
    for segment_id in sorted(segment_ids):
        digest.update(b"\n" + _bytes(segment_id))
    return digest.hexdigest()


def encode_stamp(stamp: Stamp) -> str:
    value = {
        "v": _VERSION,
        "rules": stamp.rules,
        "log": stamp.log,
        "cache": stamp.cache,
        "last": None if stamp.last is None else list(stamp.last),
        "own": stamp.own,
    }
    return json.dumps(value, separators=(",", ":"))


def decode_stamp(raw: str) -> tuple[Stamp | None, str | None]:
    """A stored stamp, and what is wrong with the value (``None``: nothing, also for a stamp
    of a newer version, which is not this client's to read)."""
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return None, "not a valid snapshot stamp"
    version = data.get("v") if isinstance(data, dict) else None
    if type(version) is int and version > _VERSION:
        return None, None
    if version != _VERSION or set(data) != _MEMBERS:
        return None, "not a valid snapshot stamp"
    log, cache, last, own, rules = (data[k] for k in ("log", "cache", "last", "own", "rules"))
    valid_last = last is None or (
        isinstance(last, list)
        and len(last) == 2
        and type(last[0]) is int
        and isinstance(last[1], str)
    )
    if not (
        isinstance(log, str)
        and isinstance(cache, str)
        and type(own) is int
        and type(rules) is int
        and valid_last
    ):
        return None, "not a valid snapshot stamp"
    order = None if last is None else (last[0], last[1])
    return Stamp(log, cache, order, own, rules), None
