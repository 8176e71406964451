"""Tokens from a host's identity provider (``PYSERVER_JWKS_URL``): keys generated here, served
as a JWKS by a local HTTP server that can rotate keys and go down; the API on a live server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from pyserver import open_storage
from pyserver.config import jwks_verifier
from pyserver.errors import ConfigError
from pyserver.jwks import LEEWAY, FetchFailed, JwksKeys, JwksVerifier, KeyUnavailable, fetch_jwks
from pyserver.storage import Storage

from .conftest import LiveServer, token_for

ISSUER = "https://id.example.test/"
AUDIENCE = "learning-progress"
PROGRESS = "/api/v1/learning/progress"
MIN_REFETCH = 30.0


@dataclass
class Key:
    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        kind = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}[self.alg]
        data = json.loads(kind.to_jwk(public))
        return {**data, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def new_key(alg: str) -> Key:
    private: Any
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return Key(f"{alg.lower()}-{uuid.uuid4().hex[:8]}", alg, private)


@dataclass
class Provider:
    """A JWKS endpoint on 127.0.0.1: its keys can be changed, and it can be stopped."""

    keys: list[Key]
    requests: int = 0
    _server: ThreadingHTTPServer | None = None
    url: str = ""
    now: list[float] = field(default_factory=lambda: [1000.0])

    def start(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests += 1
                body = json.dumps({"keys": [k.jwk() for k in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def token(self, key: Key, sub: str = "idp-user", **claims: Any) -> str:
        now = int(time.time())
        payload = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key.private, algorithm=key.alg, headers={"kid": key.kid})


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    """SQLite only: nothing here is about the database."""
    store = open_storage(f"sqlite:///{tmp_path / 'jwks.sqlite3'}")
    yield store
    store.close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider([new_key("RS256"), new_key("ES256"), new_key("EdDSA")])
    running.start()
    yield running
    running.stop()


@pytest.fixture
def site(storage: Storage, provider: Provider) -> Iterator[LiveServer]:
    keys = JwksKeys(provider.url, min_refetch=MIN_REFETCH, clock=lambda: provider.now[0])
    live = LiveServer.start(storage, jwks=JwksVerifier(keys, ISSUER, AUDIENCE))
    live.extra["keys"] = keys
    yield live
    live.stop()


def get(site: LiveServer, token: str) -> httpx.Response:
    return site.client.get(PROGRESS, headers={"Authorization": f"Bearer {token}"})


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["ok"] is False
    assert response.json()["error"]["code"] == code
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_tokens_signed_with_each_algorithm_are_accepted(
    site: LiveServer, provider: Provider
) -> None:
    for key in provider.keys:
        user = f"user-of-{key.alg}"
        token = provider.token(key, sub=user)
        body = {"clientUpdatedAt": "2026-01-01T00:00:00.000Z", "events": []}
        put = site.client.put(PROGRESS, json=body, headers={"Authorization": f"Bearer {token}"})
        assert put.status_code == 200, (key.alg, put.text)
        assert get(site, token).status_code == 200
    assert provider.requests == 1  # fetched once, then served from the cache


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"iss": "https://other.example.test/"}, "invalid_token"),
        ({"aud": "another-app"}, "invalid_token"),
        ({"aud": None}, "invalid_token"),
        ({"iss": None}, "invalid_token"),
        ({"sub": None}, "invalid_token"),
        ({"exp": ("from now", -LEEWAY - 30)}, "token_expired"),
        ({"exp": None}, "invalid_token"),
        ({"nbf": ("from now", LEEWAY + 60)}, "invalid_token"),
        ({"sub": "x" * 129}, "invalid_token"),
        ({"sub": "alice:segment:1"}, "invalid_token"),
        ({"sub": "line\nbreak"}, "invalid_token"),
    ],
)
def test_tokens_with_wrong_claims_are_refused(
    site: LiveServer, provider: Provider, claims: dict[str, Any], code: str
) -> None:
    now = int(time.time())  # times are taken when the test runs, not when it is collected
    claims = {k: now + v[1] if isinstance(v, tuple) else v for k, v in claims.items()}
    refused(get(site, provider.token(provider.keys[0], **claims)), 401, code)


def test_a_small_clock_skew_is_allowed(site: LiveServer, provider: Provider) -> None:
    now = int(time.time())
    late = provider.token(provider.keys[1], exp=now - 10)
    early = provider.token(provider.keys[1], nbf=now + 10)
    assert get(site, late).status_code == 200
    assert get(site, early).status_code == 200


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    return (part(header) + b"." + part(claims)).decode()


def test_alg_confusion_and_none_are_refused(site: LiveServer, provider: Provider) -> None:
    rsa_key = provider.keys[0]
    claims = {"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}
    # HS256 "signed" with the provider's public key as the HMAC secret.
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}, claims)
    mac = hmac.new(rsa_key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    confused = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    refused(get(site, confused), 401, "invalid_token")
    # alg none, with and without a kid.
    for header in ({"alg": "none", "typ": "JWT"}, {"alg": "none", "kid": rsa_key.kid}):
        refused(get(site, _unsigned(header, claims) + "."), 401, "invalid_token")
    # RS256 in the header, but the kid names the EC key.
    mixed = jwt.encode(
        claims, rsa_key.private, algorithm="RS256", headers={"kid": provider.keys[1].kid}
    )
    refused(get(site, mixed), 401, "invalid_token")
    # A token signed by a key the provider does not list, under a listed kid.
    stranger = new_key("RS256")
    forged = jwt.encode(claims, stranger.private, algorithm="RS256", headers={"kid": rsa_key.kid})
    refused(get(site, forged), 401, "invalid_token")


def test_the_servers_own_hs256_tokens_still_work(site: LiveServer) -> None:
    assert get(site, token_for("local-user")).status_code == 200


def test_an_unknown_kid_is_refused_until_the_key_is_rotated_in(
    site: LiveServer, provider: Provider
) -> None:
    assert get(site, provider.token(provider.keys[0])).status_code == 200
    fresh = new_key("ES256")
    token = provider.token(fresh)
    refused(get(site, token), 401, "invalid_token")  # just fetched: not asked again
    assert provider.requests == 1
    provider.now[0] += MIN_REFETCH
    refused(get(site, token), 401, "invalid_token")  # refetched once: not there
    assert provider.requests == 2
    provider.keys.append(fresh)  # the provider rotates it in
    refused(get(site, token), 401, "invalid_token")  # within the refetch interval: not asked
    assert provider.requests == 2
    provider.now[0] += MIN_REFETCH
    assert get(site, token).status_code == 200
    assert provider.requests == 3


def test_made_up_kids_cannot_make_the_server_hammer_the_provider(
    site: LiveServer, provider: Provider
) -> None:
    key = provider.keys[0]
    for _ in range(40):
        forged = Key(f"made-up-{uuid.uuid4().hex}", key.alg, key.private)
        refused(get(site, provider.token(forged)), 401, "invalid_token")
    assert provider.requests == 1


def test_while_the_provider_is_down_known_keys_work_and_new_ones_are_a_503(
    site: LiveServer, provider: Provider
) -> None:
    known = provider.token(provider.keys[2])
    assert get(site, known).status_code == 200
    provider.stop()
    provider.now[0] += 3600  # the keys are due for a refresh, which fails
    assert get(site, known).status_code == 200
    unknown = provider.token(new_key("EdDSA"))
    response = get(site, unknown)
    refused(response, 503, "jwks_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert site.extra["keys"].fetches == 2  # one failed attempt, not one per request
    assert get(site, known).status_code == 200


def test_a_server_that_never_reached_the_provider_answers_503(storage: Storage) -> None:
    keys = JwksKeys("http://127.0.0.1:9/jwks.json", timeout=1)
    live = LiveServer.start(storage, jwks=JwksVerifier(keys, ISSUER, AUDIENCE))
    try:
        token = jwt.encode(
            {"sub": "u", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
            new_key("ES256").private,
            algorithm="ES256",
            headers={"kid": "k"},
        )
        refused(get(live, token), 503, "jwks_unavailable")
    finally:
        live.stop()


def test_jwks_mode_is_configured_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert jwks_verifier() is None
    monkeypatch.setenv("PYSERVER_JWKS_URL", "https://id.example.test/jwks.json")
    with pytest.raises(ConfigError):
        jwks_verifier()  # no issuer, no audience
    monkeypatch.setenv("PYSERVER_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("PYSERVER_JWT_AUDIENCE", AUDIENCE)
    verifier = jwks_verifier()
    assert verifier is not None
    assert (verifier.issuer, verifier.audience) == (ISSUER, AUDIENCE)
    monkeypatch.setenv("PYSERVER_JWKS_URL", "file:///etc/passwd")
    with pytest.raises(ConfigError):
        jwks_verifier()


def test_a_slow_refresh_never_holds_up_a_known_key(provider: Provider) -> None:
    """The periodic refresh runs in the background: a known key answers at once meanwhile."""
    release = threading.Event()
    fetched: list[float] = []

    def slow_fetch(url: str, timeout: float) -> list[Any]:
        fetched.append(time.monotonic())
        if len(fetched) > 1:
            release.wait(10)  # the provider trickles its answer
        return fetch_jwks(url, timeout)

    now = [0.0]
    keys = JwksKeys(provider.url, refresh_every=60, clock=lambda: now[0], fetch=slow_fetch)
    kid = provider.keys[0].kid
    assert keys.key(kid) is not None
    now[0] += 120  # due for a refresh
    started = time.monotonic()
    for _ in range(5):
        assert keys.cached(kid) is not None
    assert time.monotonic() - started < 0.5
    assert len(fetched) == 2  # one refresh started, not one per request
    release.set()


def test_what_is_no_key_set_keeps_the_known_keys(provider: Provider) -> None:
    answers: list[Any] = [None, "not json", {"keys": []}]

    def fetch(url: str, timeout: float) -> list[Any]:
        answer = answers.pop(0)
        if answer is None:
            return fetch_jwks(url, timeout)
        raise FetchFailed(f"no key set: {answer!r}")

    now = [0.0]
    keys = JwksKeys(provider.url, min_refetch=1, clock=lambda: now[0], fetch=fetch)
    kid = provider.keys[1].kid
    assert keys.key(kid) is not None
    for _ in range(2):
        now[0] += 5
        with pytest.raises(KeyUnavailable):
            keys.key("rotated-in")  # unknown, and the answer was no key set: maybe valid
        assert keys.key(kid) is not None  # the known key still works


def test_an_empty_key_set_or_no_answer_is_a_failed_fetch(provider: Provider) -> None:
    provider.keys = []
    with pytest.raises(FetchFailed):
        fetch_jwks(provider.url, 1)  # {"keys": []}
    with pytest.raises(FetchFailed):
        fetch_jwks("http://127.0.0.1:9/none", 1)  # nothing listens


def test_a_malformed_algorithm_is_a_401_not_a_500(site: LiveServer, provider: Provider) -> None:
    claims = {"sub": "u", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
    for alg in (["RS256"], {"a": 1}, 7):
        token = _unsigned({"alg": alg, "kid": provider.keys[0].kid}, claims) + ".x"
        refused(get(site, token), 401, "invalid_token")


def test_a_jwks_url_must_be_https_unless_it_is_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYSERVER_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("PYSERVER_JWT_AUDIENCE", AUDIENCE)
    for url in ("http://id.example.test/jwks.json", "ftp://id.example.test/jwks.json"):
        monkeypatch.setenv("PYSERVER_JWKS_URL", url)
        with pytest.raises(ConfigError):
            jwks_verifier()
    for url in ("https://id.example.test/jwks.json", "http://127.0.0.1:8200/jwks.json"):
        monkeypatch.setenv("PYSERVER_JWKS_URL", url)
        assert jwks_verifier() is not None
