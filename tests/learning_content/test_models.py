"""The content models: camelCase, frozen, strict about shape, and a quiz's answer is an option."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from learning_content import Item, Lesson, Quiz

ITEM: TypeAdapter[Lesson | Quiz] = TypeAdapter(Item)


def quiz(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "quiz",
        "contentId": "quiz-a",
        "contentVersion": "v1",
        "title": "Quiz A",
        "interactionId": "quiz-a-answer",
        "question": "Yes or no?",
        "options": [{"id": "yes", "text": "Yes"}, {"id": "no", "text": "No"}],
        "correctOptionId": "yes",
        "score": 10,
    }
    data.update(changes)
    return data


def test_the_kind_selects_the_model() -> None:
    assert isinstance(ITEM.validate_python(quiz()), Quiz)
    lesson = {
        "kind": "lesson",
        "contentId": "lesson-a",
        "contentVersion": "v1",
        "title": "Lesson A",
        "body": ["One.", "Two."],
    }
    parsed = ITEM.validate_python(lesson)
    assert isinstance(parsed, Lesson)
    assert parsed.interaction_ids == ()


def test_a_quiz_round_trips_in_camel_case() -> None:
    parsed = ITEM.validate_python(quiz())
    assert isinstance(parsed, Quiz)
    assert parsed.interaction_ids == ("quiz-a-answer",)
    assert parsed.model_dump(exclude_none=True) == quiz()


def test_models_are_frozen() -> None:
    parsed = ITEM.validate_python(quiz())
    with pytest.raises(ValidationError, match="frozen"):
        parsed.title = "changed"  # type: ignore[misc]


def test_the_correct_option_must_be_one_of_the_options() -> None:
    with pytest.raises(ValidationError, match="correctOptionId 'maybe' is not one of the options"):
        ITEM.validate_python(quiz(correctOptionId="maybe"))


def test_option_ids_are_unique() -> None:
    options = [{"id": "yes", "text": "Yes"}, {"id": "yes", "text": "Yes!"}]
    with pytest.raises(ValidationError, match="repeated: yes"):
        ITEM.validate_python(quiz(options=options))


def test_a_quiz_has_options() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        ITEM.validate_python(quiz(options=[]))


@pytest.mark.parametrize("score", [-1, 101, 10.5, True, "10"])
def test_the_score_is_an_integer_from_0_to_100(score: object) -> None:
    with pytest.raises(ValidationError):
        ITEM.validate_python(quiz(score=score))


@pytest.mark.parametrize("score", [0, 100])
def test_the_score_bounds_are_inclusive(score: int) -> None:
    ITEM.validate_python(quiz(score=score))


@pytest.mark.parametrize("content_id", ["", "x" * 129, "Quiz A", "quiz_a", "-quiz"])
def test_ids_are_kebab_case_within_the_client_bounds(content_id: str) -> None:
    with pytest.raises(ValidationError):
        ITEM.validate_python(quiz(contentId=content_id))


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ITEM.validate_python(quiz(hint="no"))
