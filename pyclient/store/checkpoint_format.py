"""A stored log checkpoint (:mod:`pyclient.core.checkpoint`), version 2::

{"v":2,"rules":1,"segments":["<segment id>",...],"count":4096,
 "through":[<instant in µs>,"<eventId>"] or null,"own":<ms>,"snapshot":{...}}

``own`` is :attr:`~pyclient.core.checkpoint.Checkpoint.own_ms`. Version 1 is the same without
``own`` (read as 0).
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.checkpoint import Checkpoint
from ..core.models import LearningGuestProgress
from .keys import CHECKPOINT_FORMAT_VERSION

__all__ = ["decode_checkpoint", "encode_checkpoint"]


class _StoredCheckpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1, 2]
    rules: int
    segments: list[str]
    count: int = Field(ge=0)
    through: tuple[int, str] | None
    own: int = 0
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
