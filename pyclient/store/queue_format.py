"""The early-action queue as stored: which keys hold a queued action, and the reading of one
value, ``{"v":1,"userId":<a user's id or null>,"event":<the event as on the wire>}`` under
:func:`~.keys.queue_key` (the page writes it before the client is ready; DESIGN §5).

A value is readable when it is JSON of that shape and version, its ``userId`` is ``null`` or a
non-empty string, its event validates as a known event (the page only creates those) and the
event's ``eventId`` is the key's. Anything else is a problem, said in words, for
:class:`~.local_store.LocalStore` to set the value aside. The event is kept exactly as read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from ..core.codec import canonical_json
from ..core.models import KnownEvent
from .keys import QUEUE_FORMAT_VERSION, QUEUE_PREFIX, queue_key

__all__ = ["QueuedAction", "decode_queued", "encode_queued", "is_queue_key", "queued_text"]

_KEY_START = QUEUE_PREFIX + ":"
_ASIDE = ":corrupt:"


@dataclass(frozen=True, slots=True)
class QueuedAction:
    """One readable queued action: its key, whose it is (``None``: the guest), its event."""

    key: str
    user_id: str | None
    event: KnownEvent


def _this_version(value: int) -> int:
    if value != QUEUE_FORMAT_VERSION:
        raise ValueError(f"format version {value}, not {QUEUE_FORMAT_VERSION}")
    return value


class _Queued(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Annotated[int, Field(strict=True), AfterValidator(_this_version)]  # not ``true``
    user_id: Annotated[str, StringConstraints(min_length=1)] | None = Field(alias="userId")
    event: KnownEvent


def is_queue_key(key: str) -> bool:
    """A key of a queued action (a value kept aside from one, ``...:corrupt:<time>``, is not)."""
    return key.startswith(_KEY_START) and _ASIDE not in key[len(_KEY_START) :]


def decode_queued(key: str, raw: str) -> QueuedAction | str:
    """The action stored under ``key``, or what is wrong with ``raw``."""
    try:
        queued = _Queued.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"not a queued action ({f'{where}: ' if where else ''}{first['msg']})"
    expected = key[len(_KEY_START) :]
    if queued.event.event_id != expected:
        return f"its event's eventId {queued.event.event_id!r} is not the key's"
    return QueuedAction(key, queued.user_id, queued.event)


def encode_queued(user_id: str | None, event: KnownEvent) -> QueuedAction:
    """``event`` queued as the page queues an action, for ``user_id`` (``None``: the guest):
    its key; the value to store is :func:`queued_text` of it."""
    return QueuedAction(queue_key(event.event_id), user_id, event)


def queued_text(action: QueuedAction) -> str:
    """The stored value of a queued action (what :func:`decode_queued` reads back)."""
    body = canonical_json({"v": QUEUE_FORMAT_VERSION, "userId": action.user_id})
    return f'{body[:-1]},"event":{canonical_json(action.event)}}}'
