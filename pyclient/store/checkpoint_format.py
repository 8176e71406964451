"""A stored log checkpoint (:mod:`pyclient.core.checkpoint`), version 2::

{"v":2,"rules":1,"segments":["<segment id>",...],"count":4096,
 "through":[<instant in µs>,"<eventId>"] or null,"own":<ms>,"snapshot":{...}}

``own`` is :attr:`~pyclient.core.checkpoint.Checkpoint.own_ms` (``null``: not known). Version 1
is the same without ``own`` (read as not known). A newer version is not read (nor set aside as
corrupt).
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.checkpoint import Checkpoint
from ..core.models import LearningGuestProgress
from ..core.timestamps import LATEST_MS
from .keys import CHECKPOINT_FORMAT_VERSION

__all__ = ["decode_checkpoint", "encode_checkpoint", "is_newer_checkpoint"]


class _StoredCheckpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1, 2]
    rules: int
    segments: list[str]
    count: int = Field(ge=0)
    through: tuple[int, str] | None
    own: int | None = Field(default=None, ge=0, le=LATEST_MS)
    snapshot: LearningGuestProgress


def encode_checkpoint(checkpoint: Checkpoint, snapshot_json: str) -> str:
    """``checkpoint`` as stored; ``snapshot_json`` is its snapshot's canonical JSON."""
    head = json.dumps(
        {
            "v": CHECKPOINT_FORMAT_VERSION,
            "rules": checkpoint.rules,
            "segments": sorted(checkpoint.segments),
            "count": checkpoint.count,
            "through": None if checkpoint.through is None else list(checkpoint.through),
            "own": checkpoint.own_ms,
        },
        separators=(",", ":"),
    )
    return f'{head[:-1]},"snapshot":{snapshot_json}}}'


def is_newer_checkpoint(raw: str) -> bool:
    """Whether ``raw`` is a checkpoint of a version newer than this client reads."""
    try:
        version = json.loads(raw).get("v")
    except (ValueError, AttributeError):
        return False
    return type(version) is int and version > CHECKPOINT_FORMAT_VERSION


def decode_checkpoint(raw: str) -> Checkpoint | None:
    """A stored checkpoint, or ``None`` when it is not one."""
    try:
        stored = _StoredCheckpoint.model_validate_json(raw)
    except ValidationError:
        return None
    return Checkpoint(
        frozenset(stored.segments),
        stored.through,
        stored.count,
        stored.snapshot,
        stored.rules,
        stored.own,
    )
