"""Every failure a learner can meet reads as plain words of the page's locale, never as a class
name, an error code or stack text: a wrong password, too many attempts (with the wait), the
server unreachable, the session expired, the account's quota, syncs rate limited (a retry
follows by itself), a full device. The server's answers are real where the demo server gives
them (a wrong password) and provoked through the browser otherwise."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from e2e.browsing import FILL_STORAGE, FREE_STORAGE
from e2e.course import LESSON, PATH_A, complete_lesson, onboard, tid, wait_sync_state, wait_synced
from e2e.learner import LOCALES, WIDTHS, learner
from e2e.server_api import PUT
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

LOGIN = "**/api/v1/auth/login"
#: What must never reach the learner's eyes.
INTERNAL = re.compile(
    r"Error\b|pyclient|Traceback|invalid_credentials|rate_limited|quota_exceeded|unauthorized"
    r"|\b40[0-9]\b|\b429\b|\b50[0-9]\b|undefined|null",
)
WORDS = {
    "en": {
        "credentials": "Wrong email or password. Check them and try again.",
        "too_many": "Too many attempts. Wait 30 seconds before trying again.",
        "unreachable": "The server cannot be reached. Check your connection and try again.",
        "sync_unreachable": "Server unreachable · {n} waiting, will retry",
        "quota": "Account storage full · {n} not synced",
        "rate_limited": "Too many requests · {n} waiting, will retry shortly",
        "expired": "Session expired: sign in again to sync",
        "device_full": "Storage full: changes kept in this tab only",
        "device_full_banner": "This device\u2019s storage is full",
        "sync_failed": "Sync failed · {n} waiting",
    },
    "fr": {
        "credentials": "E-mail ou mot de passe incorrect. Vérifiez-les et réessayez.",
        "too_many": "Trop de tentatives. Attendez 30 secondes avant de réessayer.",
        "unreachable": "Le serveur est injoignable. Vérifiez votre connexion et réessayez.",
        "sync_unreachable": "Serveur injoignable · {n} en attente, nouvel essai prévu",
        "quota": "Espace du compte plein · {n} non synchronisé(s)",
        "rate_limited": "Trop de requêtes · {n} en attente, nouvel essai sous peu",
        "expired": "Session expirée : reconnectez-vous pour synchroniser",
        "device_full": "Stockage plein : modifications gardées dans cet onglet seulement",
        "device_full_banner": "Le stockage de cet appareil est plein",
        "sync_failed": "Échec de la synchronisation · {n} en attente",
    },
}
#: Sync failures: each locale once, at each width.
SYNC_CASES = [("en", 1280), ("fr", 360)]


def envelope(code: str, message: str) -> str:
    return json.dumps({"ok": False, "error": {"code": code, "message": message}})


def try_sign_in(page: Any, email: str, password: str) -> str:
    """Submit the sign-in dialog; the error it shows."""
    page.click(tid("sign-in-open"))
    page.fill(tid("sign-in-email"), email)
    page.fill(tid("sign-in-password"), password)
    page.click(tid("sign-in-submit"))
    page.wait_for_selector(tid("sign-in-error"), state="visible")
    return plain(page.inner_text(tid("sign-in-error")))


def plain(text: str) -> str:
    """`text` with no-break spaces as spaces (French puts them before a unit)."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def status_line(page: Any) -> str:
    return plain(page.inner_text("#progress-state"))


@pytest.fixture
def user(learning_server: LearningServer) -> tuple[str, str]:
    email = f"learner-{uuid.uuid4().hex[:10]}@example.com"
    learning_server.add_user(email, "learner-password")
    return email, "learner-password"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", LOCALES)
def test_a_wrong_password_says_so_in_plain_words(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        shown = try_sign_in(page, "demo@example.com", "not-the-password")
        assert shown == WORDS[locale]["credentials"]
        assert not INTERNAL.search(page.inner_text(tid("sign-in-dialog")))
        assert page.is_visible(tid("sign-in-dialog"))  # still open, to try again


@pytest.mark.parametrize("locale", LOCALES)
def test_too_many_attempts_says_how_long_to_wait(
    learning_server: LearningServer, browser: Any, locale: str
) -> None:
    with learner(browser, learning_server.url, locale=locale) as page:
        page.route(
            LOGIN,
            lambda route: route.fulfill(
                status=429,
                headers={"Retry-After": "30"},
                body=envelope("rate_limited", "too many login attempts"),
                content_type="application/json",
            ),
        )
        assert try_sign_in(page, "demo@example.com", "x") == WORDS[locale]["too_many"]
        assert not INTERNAL.search(page.inner_text(tid("sign-in-dialog")))


@pytest.mark.parametrize("locale", LOCALES)
def test_an_unreachable_server_at_sign_in_says_so(
    learning_server: LearningServer, browser: Any, locale: str
) -> None:
    with learner(browser, learning_server.url, locale=locale) as page:
        page.route(LOGIN, lambda route: route.abort("connectionrefused"))
        assert try_sign_in(page, "demo@example.com", "x") == WORDS[locale]["unreachable"]


def signed_in_learner_with_a_refused_push(page: Any, user: tuple[str, str], answer: Any) -> int:
    """Sign in, onboard, synced; then every PUT is answered by `answer`; complete a lesson.
    The number of changes waiting."""
    page.click(tid("sign-in-open"))
    page.fill(tid("sign-in-email"), user[0])
    page.fill(tid("sign-in-password"), user[1])
    page.click(tid("sign-in-submit"))
    page.wait_for_selector(f"{tid('sign-out')}:visible")
    onboard(page, PATH_A)
    wait_synced(page)
    page.route(
        PUT, lambda route: answer(route) if route.request.method == "PUT" else route.continue_()
    )
    complete_lesson(page, PATH_A, *LESSON)
    wait_sync_state(page, "error")
    return int(page.get_attribute(tid("sync-status"), "data-pending") or 0)


@pytest.mark.parametrize(("locale", "width"), SYNC_CASES)
def test_the_account_quota_says_what_is_not_synced(
    learning_server: LearningServer, browser: Any, user: tuple[str, str], locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        body = envelope("quota_exceeded", "the account holds too many events")
        n = signed_in_learner_with_a_refused_push(
            page,
            user,
            lambda route: route.fulfill(status=403, body=body, content_type="application/json"),
        )
        assert n >= 1
        assert status_line(page) == WORDS[locale]["quota"].format(n=n)
        assert not INTERNAL.search(page.inner_text(tid("sync-status")))


@pytest.mark.parametrize(("locale", "width"), SYNC_CASES)
def test_a_rate_limited_sync_says_it_will_retry_and_does(
    learning_server: LearningServer, browser: Any, user: tuple[str, str], locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        body = envelope("rate_limited", "too many requests")
        n = signed_in_learner_with_a_refused_push(
            page,
            user,
            lambda route: route.fulfill(
                status=429, headers={"Retry-After": "2"}, body=body, content_type="application/json"
            ),
        )
        assert status_line(page) == WORDS[locale]["rate_limited"].format(n=n)
        page.unroute(PUT)
        wait_synced(page, timeout_ms=20_000)  # the scheduled retry, no click


@pytest.mark.parametrize(("locale", "width"), SYNC_CASES)
def test_an_unreachable_server_during_sync_says_so(
    learning_server: LearningServer, browser: Any, user: tuple[str, str], locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        n = signed_in_learner_with_a_refused_push(
            page, user, lambda route: route.abort("connectionrefused")
        )
        assert status_line(page) == WORDS[locale]["sync_unreachable"].format(n=n)


@pytest.mark.parametrize(("locale", "width"), SYNC_CASES)
def test_a_refused_change_says_sync_failed_without_the_server_s_words(
    learning_server: LearningServer, browser: Any, user: tuple[str, str], locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        body = envelope("validation_error", "provoked 422")
        n = signed_in_learner_with_a_refused_push(
            page,
            user,
            lambda route: route.fulfill(status=422, body=body, content_type="application/json"),
        )
        assert status_line(page) == WORDS[locale]["sync_failed"].format(n=n)
        assert "provoked" not in page.inner_text("body")


@pytest.mark.parametrize(("locale", "width"), SYNC_CASES)
def test_an_expired_session_says_to_sign_in_again(
    learning_server: LearningServer, browser: Any, user: tuple[str, str], locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        body = envelope("unauthorized", "expired")
        page.click(tid("sign-in-open"))
        page.fill(tid("sign-in-email"), user[0])
        page.fill(tid("sign-in-password"), user[1])
        page.click(tid("sign-in-submit"))
        page.wait_for_selector(f"{tid('sign-out')}:visible")
        onboard(page, PATH_A)
        wait_synced(page)
        page.route(
            PUT,
            lambda route: (
                route.fulfill(status=401, body=body, content_type="application/json")
                if route.request.method == "PUT"
                else route.continue_()
            ),
        )
        complete_lesson(page, PATH_A, *LESSON)
        wait_sync_state(page, "session_expired")
        assert status_line(page) == WORDS[locale]["expired"]
        assert not INTERNAL.search(page.inner_text(tid("sync-status")))


@pytest.mark.parametrize(("locale", "width"), SYNC_CASES)
def test_a_full_device_says_so_in_the_status_and_the_banner(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        onboard(page, PATH_A)
        assert page.evaluate(FILL_STORAGE) > 0
        complete_lesson(page, PATH_A, *LESSON)
        page.wait_for_selector(tid("storage-warning"), state="visible")
        assert status_line(page) == WORDS[locale]["device_full"]
        banner = page.inner_text(tid("storage-warning"))
        assert banner.startswith(WORDS[locale]["device_full_banner"])
        assert not INTERNAL.search(banner) and "change(s)" not in banner
        page.evaluate(FREE_STORAGE)
