"""``learning-validate`` rejects each kind of bad content with one exact line per problem.

Each fixture under ``fixtures/<kind>/`` is a small content tree (``en`` and ``fr``) that is
valid except for the one kind of problem its name says. The validator runs from the
``fixtures`` directory, so the files it names are ``<kind>/<locale>/<file>.json``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from learning_content.validate import main

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]

#: Runs the validator on one fixture; returns (exit status, output lines).
Validate = Callable[[str], tuple[int, list[str]]]


@pytest.fixture
def validate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Validate:
    """Runs ``learning-validate <kind>`` in ``fixtures/``; returns (exit status, output lines)."""

    def run(kind: str) -> tuple[int, list[str]]:
        monkeypatch.chdir(FIXTURES)
        status = main([kind])
        return status, capsys.readouterr().out.splitlines()

    return run


def assert_rejected(result: tuple[int, list[str]], problems: list[str]) -> None:
    status, lines = result
    count = len(problems)
    summary = f"learning-validate: {count} problem{'' if count == 1 else 's'}"
    assert lines == [*problems, summary]
    assert status == 1


def test_the_minimal_fixture_is_valid(validate: Validate) -> None:
    assert validate("valid") == (
        0,
        ["learning-validate: 2 locales, 1 path, 2 modules, 3 items: OK"],
    )


def test_a_content_id_defined_twice_in_a_locale(validate: Validate) -> None:
    assert_rejected(
        validate("duplicate-content-id"),
        [
            "duplicate-content-id/en/items.json: contentId 'lesson-a':"
            " defined twice (items[0] and items[3])"
        ],
    )


def test_an_interaction_id_used_by_two_items(validate: Validate) -> None:
    kind = "duplicate-interaction-id"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/en/items.json: interactionId 'quiz-a-answer':"
            f" used by contentId 'quiz-b' and by contentId 'quiz-a' ({kind}/en/items.json)",
            f"{kind}/fr/items.json: interactionId 'quiz-a-answer':"
            f" used by contentId 'quiz-b' and by contentId 'quiz-a' ({kind}/en/items.json)",
        ],
    )


def test_interaction_ids_are_unique_across_locales(validate: Validate) -> None:
    # fr swaps the interaction ids of quiz-a and quiz-b: each is then used by two items
    kind = "duplicate-interaction-id-across-locales"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/fr/items.json: interactionId 'quiz-b-answer':"
            f" used by contentId 'quiz-a' and by contentId 'quiz-b' ({kind}/en/items.json)",
            f"{kind}/fr/items.json: interactionId 'quiz-a-answer':"
            f" used by contentId 'quiz-b' and by contentId 'quiz-a' ({kind}/en/items.json)",
            f"{kind}/fr/items.json: contentId 'quiz-a': interaction ids ['quiz-b-answer']"
            f" differ from ['quiz-a-answer'] (in {kind}/en/items.json)",
            f"{kind}/fr/items.json: contentId 'quiz-b': interaction ids ['quiz-a-answer']"
            f" differ from ['quiz-b-answer'] (in {kind}/en/items.json)",
        ],
    )


def test_a_reference_to_an_undefined_item(validate: Validate) -> None:
    kind = "undefined-reference"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/en/paths.json: contentId 'no-such-item': referenced by module 'module-two'"
            f" but not defined in {kind}/en/items.json",
            f"{kind}/fr/paths.json: contentId 'no-such-item': referenced by module 'module-two'"
            f" but not defined in {kind}/fr/items.json",
        ],
    )


def test_a_translation_whose_interaction_ids_differ(validate: Validate) -> None:
    kind = "translation-interaction-mismatch"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/fr/items.json: contentId 'quiz-a': interaction ids ['quiz-a-reponse']"
            f" differ from ['quiz-a-answer'] (in {kind}/en/items.json)"
        ],
    )


def test_an_item_missing_from_a_locale(validate: Validate) -> None:
    kind = "missing-translation"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/fr/items.json: contentId 'quiz-b': missing (defined in {kind}/en/items.json)",
            f"{kind}/fr/paths.json: moduleId 'module-two': items ['quiz-a']"
            f" differ from ['quiz-a', 'quiz-b'] (in {kind}/en/paths.json)",
        ],
    )


def test_a_translation_whose_answers_differ(validate: Validate) -> None:
    # a quiz answer (selectedOptionId) and its score are shared when the learner switches locale
    kind = "translation-answer-mismatch"
    ref = f"(in {kind}/en/items.json)"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/fr/items.json: contentId 'quiz-a': option ids ['yes', 'non']"
            f" differ from ['yes', 'no'] {ref}",
            f"{kind}/fr/items.json: contentId 'quiz-a': correctOptionId 'non' differs from 'yes'"
            f" {ref}",
            f"{kind}/fr/items.json: contentId 'quiz-a': score 20 differs from 10 {ref}",
        ],
    )


def test_the_paths_of_a_translation_differ(validate: Validate) -> None:
    kind = "translation-paths-mismatch"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/fr/paths.json: moduleId 'module-one': items ['quiz-a', 'lesson-a']"
            f" differ from ['lesson-a', 'quiz-a'] (in {kind}/en/paths.json)",
            f"{kind}/fr/paths.json: pathId 'path-two': not defined in {kind}/en/paths.json"
            " (the reference locale)",
        ],
    )


def test_schema_errors_name_the_file_the_location_and_the_id(validate: Validate) -> None:
    kind = "schema-error"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/en/items.json: items[0].summary (contentId 'lesson-a'):"
            " Extra inputs are not permitted",
            f"{kind}/en/items.json: items[1] (contentId 'quiz-a'):"
            " correctOptionId 'maybe' is not one of the options (yes, no)",
            f"{kind}/en/items.json: items[2].score (contentId 'quiz-b'):"
            " Input should be less than or equal to 100",
            f"{kind}/en/paths.json: paths[0].modules[0].moduleId (moduleId 'Module One'):"
            " String should match pattern '^[a-z0-9]+(?:-[a-z0-9]+)*$'",
            f"{kind}/fr/items.json: items[0] (contentId 'lesson-a'): Input tag 'video' found"
            " using 'kind' does not match any of the expected tags: 'lesson', 'quiz'",
        ],
    )


def test_invalid_json_and_a_missing_file(validate: Validate) -> None:
    kind = "invalid-json"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/en/items.json: invalid JSON:"
            " Illegal trailing comma before end of object (line 2, col 20)",
            f"{kind}/fr/paths.json: missing",
        ],
    )


def test_duplicate_path_and_module_ids_and_unreferenced_items(validate: Validate) -> None:
    kind = "duplicate-path-and-module-ids"
    problems = []
    for code in ("en", "fr"):
        paths = f"{kind}/{code}/paths.json"
        problems += [
            f"{paths}: moduleId 'module-one': lists contentId 'lesson-a' twice",
            f"{paths}: moduleId 'module-one': defined twice (in path 'path-one')",
            f"{paths}: pathId 'path-one': defined twice",
            f"{kind}/{code}/items.json: contentId 'lesson-unused':"
            f" defined but not referenced by any module in {paths}",
        ]
    assert_rejected(validate(kind), problems)


def test_locales_json_and_the_locale_directories_agree(validate: Validate) -> None:
    kind = "locale-mismatch"
    assert_rejected(
        validate(kind),
        [
            f"{kind}/es/items.json: missing",
            f"{kind}/es/paths.json: missing",
            f"{kind}/de: locale directory not listed in {kind}/locales.json",
        ],
    )


def test_a_content_dir_that_does_not_exist(validate: Validate) -> None:
    assert validate("no-such-dir") == (
        1,
        ["no-such-dir: not a directory", "learning-validate: 1 problem"],
    )


def test_every_fixture_is_covered_by_a_test() -> None:
    tested = {
        "valid",
        "duplicate-content-id",
        "duplicate-interaction-id",
        "duplicate-interaction-id-across-locales",
        "undefined-reference",
        "translation-interaction-mismatch",
        "missing-translation",
        "translation-answer-mismatch",
        "translation-paths-mismatch",
        "schema-error",
        "invalid-json",
        "duplicate-path-and-module-ids",
        "locale-mismatch",
    }
    assert {entry.name for entry in FIXTURES.iterdir() if entry.is_dir()} == tested


def test_the_shipped_content_passes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith("learning-validate: 2 locales, ")
    assert out[0].endswith(": OK")


def test_the_console_script_runs() -> None:
    script = Path(sys.executable).with_name("learning-validate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "learning_content"]
    done = subprocess.run(
        [*command, "web/content"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("learning-validate: 2 locales, ")
    assert done.stderr == ""

    bad = subprocess.run(
        [*command, str(FIXTURES / "duplicate-content-id")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "contentId 'lesson-a': defined twice" in bad.stdout
