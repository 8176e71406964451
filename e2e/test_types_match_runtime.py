"""web/progress-client.d.ts says what the real client has: the members it declares for the
client, the module's exports, the status, the snapshot and its parts, and the sign-in error are
exactly those of the objects the page gets in Chromium (`window.progressClient`, the module at
/progress-client.js), no more, no fewer. tests/web/test_types.py type-checks the declarations.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from e2e.browsing import wait_ready

pytestmark = pytest.mark.browser

DECLARATIONS = Path(__file__).resolve().parent.parent / "web" / "progress-client.d.ts"

COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
EXPORT = re.compile(
    r"^export\s+(?:declare\s+)?(?:async\s+)?(?:function|const|let|var|class)\s+([A-Za-z_$][\w$]*)",
    re.M,
)
MEMBER = re.compile(r"^\s*(?:readonly\s+)?(?:get\s+|set\s+)?([A-Za-z_$][\w$]*)\s*\??\s*[:(<]")
CLOSING = {"}": "{", ")": "(", "]": "["}


def declared_exports(text: str) -> set[str]:
    """The names the declarations export as values (functions and constants)."""
    return set(EXPORT.findall(COMMENTS.sub("", text)))


def declared_members(text: str, interface: str) -> set[str]:
    """The members declared in the body of `export interface <interface> ... { }` (its own,
    not those of what it extends): each member starts a line or follows a `;` in the body."""
    code = COMMENTS.sub("", text)
    head = re.search(rf"^export\s+interface\s+{interface}\b[^{{]*{{", code, re.M)
    assert head, f"no interface {interface} in {DECLARATIONS.name}"
    stack: list[str] = []
    chunk: list[str] = []
    chunks: list[str] = []
    for ch in code[head.end() :]:
        if ch in "{([":
            stack.append(ch)
        elif ch in CLOSING:
            if not stack:
                break  # the interface's own closing brace
            assert stack.pop() == CLOSING[ch], f"unbalanced {interface}"
        if not stack and ch in ";\n":
            chunks.append("".join(chunk))
            chunk = []
        else:
            chunk.append(ch)
    chunks.append("".join(chunk))
    return {m.group(1) for c in chunks if (m := MEMBER.match(c))}


# What the page's objects hold: every property name of the client (its prototype chain up to
# Object.prototype), the module's exports, and the own keys of the status, of the snapshot and
# its parts (after one recorded quiz answer) and of a failed sign-in's error.
RUNTIME = """async () => {
  const client = window.progressClient
  const names = (value) => {
    const found = new Set()
    for (let o = value; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const key of Object.getOwnPropertyNames(o)) found.add(key)
    }
    return [...found]
  }
  const api = await import('/progress-client.js')
  client.recordProgress({
    contentId: 'types-check', status: 'passed', score: 90, contentVersion: '1',
    interaction: { interactionId: 'q1', state: { kind: 'quiz', selectedOptionId: 'a' } },
  })
  const snapshot = client.snapshot
  const item = snapshot.content['types-check']
  let signInError = null
  try {
    await client.signIn({ email: 'nobody@example.com', password: 'not-the-password' })
  } catch (e) {
    signInError = { keys: Object.keys(e), name: e.name, code: e.code, message: typeof e.message }
  }
  return {
    client: names(client),
    exports: Object.keys(api),
    status: Object.keys(client.status),
    snapshot: Object.keys(snapshot),
    content: Object.keys(item),
    quiz: Object.keys(item.interactions.q1),
    onboarding: Object.keys(snapshot.onboarding),
    streak: Object.keys(snapshot.streak),
    signInError,
  }
}"""

# What the runtime holds -> where the declarations say it.
DECLARED_AS = {
    "client": "ProgressClient",
    "status": "ProgressStatus",
    "snapshot": "LearningGuestProgress",
    "content": "LearningContentProgress",
    "quiz": "QuizState",
    "onboarding": "OnboardingState",
    "streak": "StreakState",
}


def mismatch(runtime: set[str], declared: set[str]) -> dict[str, list[str]]:
    return {
        "at runtime, not declared": sorted(runtime - declared),
        "declared, not at runtime": sorted(declared - runtime),
    }


def test_the_declarations_name_exactly_what_the_client_has(pyserver_url, page) -> None:
    page.goto(pyserver_url)
    wait_ready(page)
    found: dict[str, Any] = page.evaluate(RUNTIME)
    text = DECLARATIONS.read_text(encoding="utf-8")
    problems = {}
    for part, interface in DECLARED_AS.items():
        runtime, declared = set(found[part]), declared_members(text, interface)
        if runtime != declared:
            problems[f"{part} ({interface})"] = mismatch(runtime, declared)
    if set(found["exports"]) != declared_exports(text):
        problems["module exports"] = mismatch(set(found["exports"]), declared_exports(text))
    error = found["signInError"]
    assert error is not None, "a sign-in with a wrong password resolved"
    assert (error["name"], error["code"], error["message"]) == (
        "SignInError",
        "invalid_credentials",
        "string",
    )
    if set(error["keys"]) != declared_members(text, "SignInError"):
        problems["sign-in error (SignInError)"] = mismatch(
            set(error["keys"]), declared_members(text, "SignInError")
        )
    assert not problems, f"{DECLARATIONS.name} and the client differ: {problems}"
    # the client's own members are many: the comparison ran on the real object
    assert {"snapshot", "status", "subscribe", "recordProgress", "signIn"} <= set(found["client"])


def test_the_reading_of_the_declarations_sees_every_kind_of_member() -> None:
    text = DECLARATIONS.read_text(encoding="utf-8")
    anchor = "export interface ProgressClient {\n"
    assert text.count(anchor) == 1
    planted = text.replace(
        anchor,
        anchor
        + "  /** a doc comment: notAMember(): void */\n"
        + "  readonly plantedProperty?: string\n"
        + "  plantedMethod<T>(\n    value: { nested: T; other(): void }\n  ): Promise<T>\n"
        + "  plantedUnion:\n    | 'a'\n    | 'b'\n",
    )
    before = declared_members(text, "ProgressClient")
    after = declared_members(planted, "ProgressClient")
    assert after - before == {"plantedProperty", "plantedMethod", "plantedUnion"}
    assert {"snapshot", "status", "subscribe", "close"} <= before
    assert declared_members(text, "SignInError") == {"name", "code", "status", "retryAfterMs"}
    assert "STORAGE_KEYS" in declared_exports(text) and "events" not in declared_exports(text)
