"""What keeps ``PUT /progress`` from filling the database or flooding the server: a per-user
quota on what a log holds and a per-user PUT rate (``config.WriteLimits``).

1. **Rate.** Each PUT counts against its user in a moving window (the ``limits`` library's
   moving-window limiter) as soon as its token is checked, before its body is read. Over the
   rate it is answered 429 ``rate_limited`` with ``Retry-After`` (the seconds until the window
   admits one again); the client waits that long and goes on where it stopped, so a large
   push is slowed, never lost.
2. **Quota.** The events and bytes a PUT adds are checked in the append's own transaction
   (``Storage.append_events``), so concurrent PUTs of one user cannot both slip under it; over
   it, nothing of the request is stored and it is answered 403 ``quota_exceeded`` with what
   the log holds and may hold. A PUT that adds nothing (a retry) is never refused.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from .config import WriteLimits, write_limits
from .errors import ApiError, ConfigError
from .storage import Quota, QuotaExceeded

__all__ = ["WriteLimiter", "quota_error"]

log = logging.getLogger("pyserver")


class WriteLimiter:
    """The write limits of one app: the quota handed to the storage, the PUT rate checked here."""

    def __init__(
        self, limits: WriteLimits | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.limits = limits if limits is not None else write_limits()
        self.quota = Quota(self.limits.quota_events, self.limits.quota_bytes)
        self.clock = clock
        self._rate: RateLimitItem | None = None
        self._in_memory = self.limits.rate_storage.startswith("memory://")
        if self.limits.put_rate.strip().lower() != "none":
            self._rate = parse(self.limits.put_rate)
            try:
                storage = storage_from_string(self.limits.rate_storage)
            except Exception as exc:  # an unknown scheme, or its client library is missing
                raise ConfigError(f"PYSERVER_RATE_LIMIT_STORAGE: {exc}") from None
            self._limiter = MovingWindowRateLimiter(storage)

    async def admit_put(self, user_id: str) -> None:
        """Count one PUT of ``user_id``; 429 ``rate_limited`` when over the rate. A shared
        storage is asked from a thread (it is network I/O); if it cannot answer, the PUT is
        let through (a rate limit that fails must not take writes down with it)."""
        if self._rate is None:
            return
        try:
            if self._in_memory:
                wait = self._count(user_id)
            else:
                wait = await run_in_threadpool(self._count, user_id)
        except Exception as exc:
            log.warning("the PUT rate limit's storage failed, the PUT is let through: %r", exc)
            return
        if wait is None:
            return
        raise ApiError(
            429,
            "rate_limited",
            f"too many uploads: at most {self._rate.amount} per "
            f"{self._rate.get_expiry()} s; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )

    def _count(self, user_id: str) -> int | None:
        """Count the PUT; ``None`` when admitted, else the seconds to wait."""
        assert self._rate is not None
        if self._limiter.hit(self._rate, "put", user_id):
            return None
        reset = self._limiter.get_window_stats(self._rate, "put", user_id).reset_time
        return max(1, math.ceil(reset - self.clock()))


def quota_error(exc: QuotaExceeded) -> ApiError:
    """The 403 ``quota_exceeded`` answer to an append over the user's quota."""
    usage, added, quota = exc.usage, exc.added, exc.quota
    return ApiError(
        403,
        "quota_exceeded",
        "this account's progress storage is full: nothing of this request was stored",
        {
            "events": usage.events,
            "bytes": usage.bytes,
            "addedEvents": added.events,
            "addedBytes": added.bytes,
            "quotaEvents": quota.events,
            "quotaBytes": quota.bytes,
        },
    )
