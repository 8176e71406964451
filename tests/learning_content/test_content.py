"""The shipped content (``web/content``) has what a course needs: enough paths, modules,
items and reuse, two locales that share their ids, and ids the sync client accepts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from learning_content import ItemsFile, LocalesFile, PathsFile, Quiz
from pyclient.core.models import ContentProgressPayload

CONTENT = Path(__file__).resolve().parents[2] / "web" / "content"


def locales() -> LocalesFile:
    return LocalesFile.model_validate_json((CONTENT / "locales.json").read_bytes())


def items(code: str) -> ItemsFile:
    return ItemsFile.model_validate_json((CONTENT / code / "items.json").read_bytes())


def paths(code: str) -> PathsFile:
    return PathsFile.model_validate_json((CONTENT / code / "paths.json").read_bytes())


CODES = [locale.code for locale in locales().locales]


def test_there_are_two_locales_english_first() -> None:
    assert CODES[0] == "en"
    assert len(CODES) == 2
    assert locales().default_locale == "en"


@pytest.mark.parametrize("code", CODES)
def test_at_least_2_paths_6_modules_and_20_items(code: str) -> None:
    the_paths = paths(code).paths
    assert len(the_paths) >= 2
    assert sum(len(path.modules) for path in the_paths) >= 6
    assert len({item.content_id for item in items(code).items}) >= 20


@pytest.mark.parametrize("code", CODES)
def test_at_least_3_items_are_reused_in_more_than_one_module(code: str) -> None:
    modules_per_item = Counter(
        content_id
        for path in paths(code).paths
        for module in path.modules
        for content_id in set(module.items)
    )
    reused = [content_id for content_id, count in modules_per_item.items() if count > 1]
    assert len(reused) >= 3


@pytest.mark.parametrize("code", CODES)
def test_both_kinds_of_item_are_there(code: str) -> None:
    kinds = Counter(item.kind for item in items(code).items)
    assert kinds["lesson"] >= 10
    assert kinds["quiz"] >= 6


def test_the_locales_share_their_content_ids_and_interaction_ids() -> None:
    first, second = CODES
    ids = {code: [item.content_id for item in items(code).items] for code in CODES}
    assert ids[first] == ids[second]
    interactions = {
        code: {item.content_id: item.interaction_ids for item in items(code).items}
        for code in CODES
    }
    assert interactions[first] == interactions[second]


def test_the_text_is_translated() -> None:
    first, second = CODES
    titles = {code: [item.title for item in items(code).items] for code in CODES}
    same = [a for a, b in zip(titles[first], titles[second], strict=True) if a == b]
    assert len(same) <= 2, same  # a few titles ("Quiz A") may coincide, not most


@pytest.mark.parametrize("code", CODES)
def test_every_lesson_has_a_few_paragraphs(code: str) -> None:
    for item in items(code).items:
        if item.kind == "lesson":
            assert len(item.body) >= 2, item.content_id


@pytest.mark.parametrize("code", CODES)
def test_the_ids_fit_a_content_progressed_event(code: str) -> None:
    # the page sends contentId, contentVersion, interactionId and the option id as they are
    for item in items(code).items:
        interaction = (
            {
                "interactionId": item.interaction_id,
                "state": {"kind": "quiz", "selectedOptionId": item.correct_option_id},
            }
            if isinstance(item, Quiz)
            else None
        )
        payload = {
            "contentId": item.content_id,
            "status": "passed" if isinstance(item, Quiz) else "completed",
            "contentVersion": item.content_version,
            **({"interaction": interaction} if interaction else {}),
            **({"score": item.score} if isinstance(item, Quiz) else {}),
        }
        ContentProgressPayload.model_validate(payload)


def test_the_files_are_plain_json_objects() -> None:
    # the page fetches these files directly: no comments, UTF-8, an object at the top
    for file in CONTENT.rglob("*.json"):
        assert isinstance(json.loads(file.read_text(encoding="utf-8")), dict), file
