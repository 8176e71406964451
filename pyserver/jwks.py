"""Tokens from a host's identity provider: JWTs signed with RS256, ES256 or EdDSA, checked
against the provider's JSON Web Key Set (DESIGN §4, ``PYSERVER_JWKS_URL``).

- **Claims.** The signature, ``iss`` (``PYSERVER_JWT_ISSUER``), ``aud``
  (``PYSERVER_JWT_AUDIENCE``), ``exp`` and ``nbf`` (with ``LEEWAY`` seconds of clock skew) and
  a ``sub`` that is a userId; ``exp``, ``iss``, ``aud`` and ``sub`` are required.
- **Algorithms.** Only the asymmetric ones, and only the one the key is for (a key's ``alg``,
  or the one its type implies): a token whose header says HS256 is never checked against a
  public key (the classic confusion, the public key used as an HMAC secret), and ``none`` is
  refused.
- **Keys.** Fetched by PyJWT's ``PyJWKClient`` (its HTTP fetch and JWK parsing), kept here by
  ``kid``: used as long as they are listed, refetched every ``refresh_every`` seconds and when a
  token names an unknown ``kid`` (a key rotated in), but never more often than once every
  ``min_refetch`` seconds, whether the last fetch worked or not, so tokens with made-up
  ``kid``s cannot make the server hammer the provider. While the provider cannot be reached,
  the keys fetched before keep working; a token whose key is not among them is answered 503
  ``jwks_unavailable`` (with ``Retry-After``), not 401: it may be valid.

PyJWKClient's own cache is not used because it forgets its keys when its lifespan ends (so a
provider that is down for longer refuses every token) and bounds refetches only after a
successful fetch (so a provider that is down is asked again for each token).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWKClientError, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError
from starlette.concurrency import run_in_threadpool

from .errors import ApiError, Unauthorized

__all__ = ["ASYMMETRIC_ALGORITHMS", "LEEWAY", "JwksKeys", "JwksVerifier", "KeyUnavailable"]

ASYMMETRIC_ALGORITHMS = frozenset(["RS256", "ES256", "EdDSA"])
#: Seconds of clock skew allowed on ``exp`` and ``nbf``.
LEEWAY = 30


class KeyUnavailable(Exception):
    """The token's key is not known and the key set cannot be fetched now."""


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
    ) -> None:
        self._client = PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self.refresh_every = refresh_every
        self.min_refetch = min_refetch
        self.clock = clock
        self._keys: Mapping[str | None, PyJWK] = {}
        self._fetched_at = -math.inf  # last successful fetch
        self._tried_at = -math.inf  # last attempt, successful or not
        self._reachable = False  # whether the last attempt reached the provider
        self._lock = threading.Lock()
        #: How many times the key set was requested (for tests and operators).
        self.fetches = 0

    def cached(self, kid: str | None) -> PyJWK | None:
        """The key, when it is known and no refetch is due (no I/O: fine on the event loop)."""
        if self.clock() - self._fetched_at > self.refresh_every:
            return None
        return self._keys.get(kid)

    def key(self, kid: str | None) -> PyJWK | None:
        """The key, refetching the set first if that is due and allowed (blocking I/O: call it
        from a thread). ``None``: no such key; :class:`KeyUnavailable`: not known, and the
        provider could not be reached the last time it was asked."""
        with self._lock:
            key = self._keys.get(kid)
            now = self.clock()
            due = key is None or now - self._fetched_at > self.refresh_every
            if due and now - self._tried_at >= self.min_refetch:
                self._tried_at = now
                self.fetches += 1
                try:
                    data = self._client.fetch_data()
                    keys = PyJWKSet.from_dict(data).keys
                except PyJWKClientConnectionError:
                    self._reachable = False
                except (PyJWKClientError, PyJWKSetError, PyJWKError):
                    keys = []  # a key set with no usable key: nothing is accepted
                    self._reachable = True
                else:
                    self._reachable = True
                if self._reachable:
                    self._keys = _by_kid(keys)
                    self._fetched_at = now
                    key = self._keys.get(kid)
            if key is None and not self._reachable:
                raise KeyUnavailable
            return key  # while the provider is down, a known key keeps working


def _by_kid(keys: list[PyJWK]) -> dict[str | None, PyJWK]:
    """Signing keys by ``kid``; the one key of a set of one also answers tokens with no kid."""
    usable = [k for k in keys if k.public_key_use in (None, "sig")]
    found: dict[str | None, PyJWK] = {k.key_id: k for k in usable if k.key_id}
    if len(usable) == 1:
        found[None] = usable[0]
    return found


class JwksVerifier:
    """Checks a provider's tokens (see the module's docstring)."""

    def __init__(self, keys: JwksKeys, issuer: str, audience: str) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience

    async def claims(self, token: str, header: Mapping[str, Any]) -> dict[str, Any]:
        """The checked claims of ``token`` (whose unverified ``header`` the caller read)."""
        alg = header.get("alg")
        if alg not in ASYMMETRIC_ALGORITHMS:
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
                leeway=LEEWAY,
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
