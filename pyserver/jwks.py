"""Tokens from a host's identity provider: JWTs signed with RS256, ES256 or EdDSA, checked
against the provider's JSON Web Key Set (DESIGN §4, ``PYSERVER_JWKS_URL``).

- **Claims.** The signature, ``iss`` (``PYSERVER_JWT_ISSUER``), ``aud``
  (``PYSERVER_JWT_AUDIENCE``), ``exp`` and ``nbf`` (with ``LEEWAY`` seconds of clock skew, or
  ``PYSERVER_JWT_LEEWAY``) and
  a ``sub`` that is a userId; ``exp``, ``iss``, ``aud`` and ``sub`` are required.
- **Algorithms.** Only the asymmetric ones, and only the one the key is for (a key's ``alg``,
  or the one its type implies): a token whose header says HS256 is never checked against a
  public key (the classic confusion, the public key used as an HMAC secret), and ``none`` is
  refused.
- **Keys.** Kept here by ``kid``, parsed by PyJWT (``PyJWKSet``): used as long as they are
  listed; refetched every ``refresh_every`` seconds (in the background: a known key answers at
  once meanwhile) and when a token names an unknown ``kid`` (a key rotated in), but never more
  often than once every ``min_refetch`` seconds, whether the last fetch worked or not, so tokens
  with made-up ``kid``s cannot make the server hammer the provider. A fetch has an overall
  deadline and a size cap. While the provider cannot be reached, or answers with something
  that is no key set, the keys fetched before keep working; a token whose key is not among
  them is answered 503 ``jwks_unavailable`` (with ``Retry-After``), not 401: it may be valid.

PyJWT's ``PyJWKClient`` is not used: it forgets its keys when its cache's lifespan ends (so a
provider that is down for longer refuses every token), bounds refetches only after a
successful fetch (so a provider that is down is asked again for each token), and reads an
answer of any size for as long as it trickles in.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError
from starlette.concurrency import run_in_threadpool

from .errors import ApiError, Unauthorized

__all__ = ["ASYMMETRIC_ALGORITHMS", "LEEWAY", "JwksKeys", "JwksVerifier", "KeyUnavailable"]

ASYMMETRIC_ALGORITHMS = frozenset(["RS256", "ES256", "EdDSA"])
#: Seconds of clock skew allowed on ``exp`` and ``nbf``.
LEEWAY = 30
#: The most a key set may weigh (a real one is a few KiB).
MAX_JWKS_BYTES = 256 * 1024


class KeyUnavailable(Exception):
    """The token's key is not known and the key set cannot be fetched now."""


class FetchFailed(Exception):
    """The key set could not be fetched, or what came is no key set."""


def fetch_jwks(url: str, timeout: float) -> list[PyJWK]:
    """The signing keys at ``url``, read within ``timeout`` seconds in all (not per read), at
    most ``MAX_JWKS_BYTES``; :class:`FetchFailed` otherwise."""
    deadline = time.monotonic() + timeout
    try:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = b""
            while chunk := response.read(16384):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise FetchFailed(f"the key set is larger than {MAX_JWKS_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise FetchFailed(f"the key set did not arrive within {timeout:g} s")
        return PyJWKSet.from_dict(json.loads(body)).keys
    except FetchFailed:
        raise
    except (OSError, ValueError, PyJWKError, PyJWKSetError) as exc:  # URLError is an OSError
        raise FetchFailed(str(exc)) from None


class JwksKeys:
    """The provider's signing keys by ``kid``, fetched and refreshed as the module says."""

    def __init__(
        self,
        url: str,
        *,
        refresh_every: float = 600.0,
        min_refetch: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str, float], list[PyJWK]] = fetch_jwks,
    ) -> None:
        self.url = url
        self.refresh_every = refresh_every
        self.min_refetch = min_refetch
        self.timeout = timeout
        self.clock = clock
        self._fetch = fetch
        self._keys: Mapping[str | None, PyJWK] = {}
        self._fetched_at = -math.inf  # last successful fetch
        self._tried_at = -math.inf  # last attempt, successful or not
        self._reachable = False  # whether the last attempt got a key set
        self._lock = threading.Lock()  # guards the fields above; never held during I/O
        self._fetching: threading.Event | None = None  # set when the fetch under way is over
        #: How many times the key set was requested (for tests and operators).
        self.fetches = 0

    def cached(self, kid: str | None) -> PyJWK | None:
        """The key if it is known, without I/O (fine on the event loop). When the keys are due
        for their periodic refresh, one is started in the background; the known key answers
        meanwhile."""
        with self._lock:
            key = self._keys.get(kid)
            stale = self.clock() - self._fetched_at > self.refresh_every
        if key is not None and stale and self._may_start():
            threading.Thread(target=self._refresh, daemon=True, name="jwks-refresh").start()
        return key

    def key(self, kid: str | None) -> PyJWK | None:
        """The key, fetching the set first if it is unknown and that is allowed (blocking I/O:
        call it from a thread). ``None``: no such key; :class:`KeyUnavailable`: not known,
        and the provider could not be reached the last time it was asked."""
        with self._lock:
            key = self._keys.get(kid)
            waiting = self._fetching
        if key is not None:
            return key
        if waiting is None and self._may_start():
            self._refresh()
        elif waiting is not None:
            waiting.wait(self.timeout + 1)  # the fetch under way may bring it
        with self._lock:
            key = self._keys.get(kid)
            if key is None and not self._reachable:
                raise KeyUnavailable
            return key

    def _may_start(self) -> bool:
        """Claim the next fetch, if none is under way and the last was long enough ago."""
        with self._lock:
            now = self.clock()
            if self._fetching is not None or now - self._tried_at < self.min_refetch:
                return False
            self._tried_at = now
            self._fetching = threading.Event()
            self.fetches += 1
            return True

    def _refresh(self) -> None:
        """Run the claimed fetch (no lock held) and keep what it brought, if anything."""
        try:
            keys = self._fetch(self.url, self.timeout)
        except FetchFailed:
            keys = None
        with self._lock:
            done, self._fetching = self._fetching, None
            self._reachable = keys is not None
            if keys is not None:
                self._keys = _by_kid(keys)
                self._fetched_at = self.clock()
        if done is not None:
            done.set()


def _by_kid(keys: list[PyJWK]) -> dict[str | None, PyJWK]:
    """Signing keys by ``kid``; the one key of a set of one also answers tokens with no kid."""
    usable = [k for k in keys if k.public_key_use in (None, "sig")]
    found: dict[str | None, PyJWK] = {k.key_id: k for k in usable if k.key_id}
    if len(usable) == 1:
        found[None] = usable[0]
    return found


class JwksVerifier:
    """Checks a provider's tokens (see the module's docstring)."""

    def __init__(
        self, keys: JwksKeys, issuer: str, audience: str, *, leeway: float = LEEWAY
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    async def claims(self, token: str, header: Mapping[str, Any]) -> dict[str, Any]:
        """The checked claims of ``token`` (whose unverified ``header`` the caller read)."""
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
            raise Unauthorized("invalid_token", "the token's algorithm is not accepted")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthorized("invalid_token", "the token's key id is malformed")
        key = self.keys.cached(kid)
        if key is None:
            try:
                key = await run_in_threadpool(self.keys.key, kid)
            except KeyUnavailable:
                raise ApiError(
                    503,
                    "jwks_unavailable",
                    "the identity provider's keys cannot be fetched; try again later",
                    headers={"Retry-After": str(math.ceil(self.keys.min_refetch))},
                ) from None
        if key is None:
            raise Unauthorized("invalid_token", "the token is signed with an unknown key")
        if key.algorithm_name != alg:
            raise Unauthorized("invalid_token", "the token's algorithm does not match its key")
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token_expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("invalid_token", "the token is not valid yet") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("invalid_token", _reason(exc)) from None


def _reason(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.InvalidIssuerError):
        return "the token is from another issuer"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "the token is for another audience"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the token lacks the {exc.claim!r} claim"
    return "the token is malformed or wrongly signed"
