"""Checkpoints: the snapshot of a log's sealed segments, so that a load reduces only what
follows them (DESIGN §5: the full reduction still runs on every load, after ready).

A checkpoint names the segments it covers, the greatest :func:`~.eventlog.event_order_key`
among their events (``through``), how many events they hold and the version of the reducer
rules that made it. It is used only when it covers exactly the log's segments, was made by
these rules, and every other event of the log sorts after ``through``
(:func:`start_from_checkpoint`); a late event, a segment it does not know, or other rules make
it unusable, and the log is reduced whole instead. What it says is not trusted beyond a load:
the full reduction after ready compares its snapshot with the checkpoint's and corrects it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final

from .eventlog import OrderKey, event_order_key
from .models import Event, LearningGuestProgress
from .reducer import apply_events

__all__ = ["REDUCER_RULES", "Checkpoint", "start_from_checkpoint"]

#: The version of the reducer's rules: a checkpoint made under other rules is not used. Raise
#: it whenever a rule of :mod:`.reducer` changes what a log reduces to.
REDUCER_RULES: Final = 1


@dataclass(frozen=True)
class Checkpoint:
    """The snapshot of the events of ``segments`` (``count`` of them, the last in order at
    ``through``; ``None``: no event), made under reducer rules ``rules``; ``own_ms``: the
    latest ``occurredAt`` (ms, at least 0) of the storing client's own events among them (0:
    none; ``None``: not known), which its next event must come after even before those segments
    are read."""

    segments: frozenset[str]
    through: OrderKey | None
    count: int
    snapshot: LearningGuestProgress
    rules: int = REDUCER_RULES
    own_ms: int | None = 0


def start_from_checkpoint(
    checkpoint: Checkpoint | None, segments: Collection[str], rest: Iterable[Event]
) -> tuple[LearningGuestProgress, OrderKey | None] | None:
    """The snapshot of a log whose segments are ``segments`` and whose other events are
    ``rest``, from ``checkpoint``, with the greatest order key reduced into it; ``None`` when
    the checkpoint cannot be used (then reduce the whole log)."""
    if (
        checkpoint is None
        or checkpoint.rules != REDUCER_RULES
        or checkpoint.segments != frozenset(segments)
    ):
        return None
    ordered = sorted((event_order_key(e), e) for e in rest)
    through = checkpoint.through
    if ordered and through is not None and ordered[0][0] <= through:
        return None  # a late event: the checkpoint is not a prefix of the log
    if not ordered:
        return checkpoint.snapshot, through
    return apply_events(checkpoint.snapshot, (e for _, e in ordered)), ordered[-1][0]
