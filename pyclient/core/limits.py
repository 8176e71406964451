"""The API's limits on one ``PUT /progress`` (DESIGN §4), the one home that the server enforces
and the client batches by."""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_BODY_BYTES", "MAX_EVENTS_PER_PUT"]

#: At most this many events in one request body.
MAX_EVENTS_PER_PUT: Final = 500
#: At most this many bytes in one request body.
MAX_BODY_BYTES: Final = 1024 * 1024
