"""The cross-file rules, on parsed models (no files): cases the fixtures do not spell out."""

from __future__ import annotations

from typing import Any

from learning_content import ItemsFile, ParsedLocale, PathsFile, check_content

PATHS = PathsFile.model_validate(
    {
        "paths": [
            {
                "pathId": "p",
                "title": "P",
                "description": "P.",
                "modules": [{"moduleId": "m", "title": "M", "items": ["a"]}],
            }
        ]
    }
)


def locale(code: str, item: dict[str, Any]) -> ParsedLocale:
    return ParsedLocale(
        code=code,
        items_file=f"{code}/items.json",
        paths_file=f"{code}/paths.json",
        items=ItemsFile.model_validate({"items": [item]}),
        paths=PATHS,
    )


LESSON: dict[str, Any] = {
    "kind": "lesson",
    "contentId": "a",
    "contentVersion": "v1",
    "title": "A",
    "body": ["A."],
}
QUIZ: dict[str, Any] = {
    "kind": "quiz",
    "contentId": "a",
    "contentVersion": "v1",
    "title": "A",
    "interactionId": "a-answer",
    "question": "A?",
    "options": [{"id": "yes", "text": "Yes"}],
    "correctOptionId": "yes",
    "score": 5,
}


def test_a_translation_of_another_kind_is_one_problem() -> None:
    problems = check_content([locale("en", QUIZ), locale("fr", LESSON)], reference="en")
    assert [str(p) for p in problems] == [
        "fr/items.json: contentId 'a': kind 'lesson' differs from 'quiz' (in en/items.json)"
    ]


def test_a_translation_may_reuse_its_own_interaction_ids() -> None:
    assert check_content([locale("en", QUIZ), locale("fr", QUIZ)], reference="en") == []


def test_the_content_version_may_differ_between_translations() -> None:
    # a translation can lag behind; progress does not depend on the text
    fr = {**QUIZ, "contentVersion": "v2"}
    assert check_content([locale("en", QUIZ), locale("fr", fr)], reference="en") == []


def test_an_unparsed_file_causes_no_follow_up_problems() -> None:
    en = locale("en", QUIZ)
    broken = ParsedLocale("fr", "fr/items.json", "fr/paths.json", items=None, paths=PATHS)
    assert check_content([en, broken], reference="en") == []
