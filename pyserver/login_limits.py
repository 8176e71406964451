"""What keeps ``POST /auth/login`` standing under abuse: counted attempts with exponential
backoff per account and per client address, and a bounded number of password checks at once.

1. **Counted before the hash.** Each attempt is counted, in one atomic database step, against
   its account (the email) and its client address before its password is checked; an attempt
   that must wait is answered 429 ``rate_limited`` with ``Retry-After`` and costs nothing.
   Concurrent guesses are counted one by one, so at most ``account_free`` of a burst for one
   email reach a password check.
2. **Backoff, not lockout.** The first ``free - 1`` attempts of a counter pass at once; from
   the ``free``-th on each counted attempt doubles the wait before the next (1 s, 2 s, 4 s, ...)
   up to ``backoff_cap`` (30 s): once an attack stops, the right password gets in within the
   cap. A success resets its account's counter and takes its attempt back from its address's
   (learners behind one NAT do not use up the address's allowance by signing in).
3. **Shared and durable.** The counters are rows of the ``login_attempts`` table, so every
   server process sharing the database sees the same counts, and a restart keeps them.
4. **Bounded memory.** At most ``concurrency`` password checks (argon2id, 19 MiB each) run at
   once in a process; the others wait their turn on a semaphore without allocating anything.

The client address is the socket's peer, or, when that peer is one of
``PYSERVER_TRUSTED_PROXIES``, the right-most address of ``X-Forwarded-For`` that is not a
trusted proxy. IPv6 addresses count per /64 (what one subscriber usually gets).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .auth import dummy_hash, hash_password, password_needs_rehash, verify_password
from .config import LoginSettings, login_settings
from .errors import ApiError, Unauthorized
from .storage import Storage, User
from .storage.base import Backoff

__all__ = ["LoginLimiter", "account_key", "address_key"]

#: Prune counters untouched for ``forget_after`` once every this many admitted attempts.
_PRUNE_EVERY = 1000


def account_key(email: str) -> str:
    """The counter of an account: its normalized email, hashed (rows of fixed size)."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"account:{digest}"


def address_key(address: str) -> str:
    """The counter of a client address (an IPv6 address counts for its /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{address[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))}"
    return f"address:{ip}"


class LoginLimiter:
    """Admits, refuses and checks logins for one app; see the module's docstring."""

    def __init__(
        self,
        storage: Storage,
        settings: LoginSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.settings = settings if settings is not None else login_settings()
        self.clock = clock
        s = self.settings
        self._rules = (
            Backoff(s.account_free, s.backoff_base, s.backoff_cap, s.forget_after),
            Backoff(s.address_free, s.backoff_base, s.backoff_cap, s.forget_after),
        )
        self._password_checks = asyncio.Semaphore(s.concurrency)
        self._admitted = 0

    def client_address(self, request: Request) -> str:
        """The address the attempt is counted against (see the module's docstring)."""
        peer = request.client.host if request.client else ""
        if not self.settings.trusted_proxies or not self._trusted(peer):
            return peer
        hops = [
            hop.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
        ]
        for hop in reversed(hops):
            if hop and not self._trusted(hop):
                return hop
        return next((hop for hop in hops if hop), peer)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.settings.trusted_proxies)

    async def authenticate(self, request: Request, email: str, password: str) -> User:
        """The user whose email and password these are; 429 ``rate_limited`` while the
        account or the client address must wait, 401 ``invalid_credentials`` when wrong."""
        keys = (account_key(email), address_key(self.client_address(request)))
        wait = await run_in_threadpool(
            self.storage.count_login_attempt, keys, self._rules, self.clock()
        )
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                "too many login attempts; try again later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        await self._prune_now_and_then()
        async with self._password_checks:
            user = await run_in_threadpool(self._check, email, password)
        if user is None:
            raise Unauthorized("invalid_credentials", "wrong email or password")
        await run_in_threadpool(self.storage.login_succeeded, keys[:1], keys[1:])
        return user

    def _check(self, email: str, password: str) -> User | None:
        user = self.storage.find_user(email)
        ok = verify_password(user.password_hash if user else dummy_hash(), password)
        if user is None or not ok:
            return None
        if password_needs_rehash(user.password_hash):
            self.storage.set_password_hash(user.user_id, hash_password(password))
        return user

    async def _prune_now_and_then(self) -> None:
        self._admitted += 1
        if self._admitted % _PRUNE_EVERY == 1:
            before = self.clock() - self.settings.forget_after
            await run_in_threadpool(self.storage.prune_login_counters, before)
