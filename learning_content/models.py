"""The content models: the three JSON documents of a content tree, as frozen pydantic models.

This module owns the *schema* of one file at a time (shapes, id syntax, a quiz's options and
its correct answer). Rules that need more than one file (references, duplicate ids, matching
translations) live in :mod:`learning_content.rules`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from pyclient.core.models import WireModel

__all__ = [
    "ContentId",
    "ContentVersion",
    "InteractionId",
    "Item",
    "ItemsFile",
    "Lesson",
    "Locale",
    "LocaleCode",
    "LocalesFile",
    "Module",
    "Path",
    "PathsFile",
    "Quiz",
    "QuizOption",
    "Slug",
]

#: A kebab-case identifier within the pyclient bounds (non-empty, at most 128 characters).
Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
]
#: The progress item id (``contentId`` of a ``content.progressed`` event).
ContentId = Slug
#: The id of one interaction (a quiz's answer); unique in the whole system.
InteractionId = Slug
#: The item's content version, sent as ``contentVersion`` (e.g. ``v1``).
ContentVersion = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")
]
#: A locale code such as ``en`` or ``pt-BR``.
LocaleCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(?:-[A-Z]{2})?$")]
#: Text shown to the learner: not empty, not only spaces.
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False, pattern=r"\S")]


# --------------------------------------------------------------------------- items


class Lesson(WireModel):
    """A lesson: a title and a few paragraphs of text. It has no interactions."""

    kind: Literal["lesson"] = "lesson"
    content_id: ContentId
    content_version: ContentVersion
    title: Text
    body: Annotated[list[Text], Field(min_length=1)]

    @property
    def interaction_ids(self) -> tuple[str, ...]:
        return ()


class QuizOption(WireModel):
    """One answer a learner can choose; ``id`` is the ``selectedOptionId`` of the quiz state."""

    id: Slug
    text: Text


class Quiz(WireModel):
    """A one-question quiz: one interaction, one correct option, a score for a correct answer."""

    kind: Literal["quiz"] = "quiz"
    content_id: ContentId
    content_version: ContentVersion
    title: Text
    interaction_id: InteractionId
    question: Text
    options: Annotated[list[QuizOption], Field(min_length=1)]
    correct_option_id: Slug
    score: Annotated[int, Field(strict=True, ge=0, le=100)]
    explanation: Text | None = None

    @model_validator(mode="after")
    def _options_are_consistent(self) -> Self:
        ids = [option.id for option in self.options]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"option ids must be unique; repeated: {', '.join(repeated)}")
        if self.correct_option_id not in ids:
            raise ValueError(
                f"correctOptionId {self.correct_option_id!r} is not one of the options"
                f" ({', '.join(ids)})"
            )
        return self

    @property
    def interaction_ids(self) -> tuple[str, ...]:
        return (self.interaction_id,)

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(option.id for option in self.options)


Item = Annotated[Lesson | Quiz, Field(discriminator="kind")]


class ItemsFile(WireModel):
    """``<locale>/items.json``: every item of the locale, each defined once."""

    items: list[Item]


# --------------------------------------------------------------------------- paths


class Module(WireModel):
    """A module of a path: an ordered list of items, referenced by ``contentId``."""

    module_id: Slug
    title: Text
    items: Annotated[list[ContentId], Field(min_length=1)]


class Path(WireModel):
    """A learning path (what onboarding chooses): an ordered list of modules."""

    path_id: Slug
    title: Text
    description: Text
    modules: Annotated[list[Module], Field(min_length=1)]


class PathsFile(WireModel):
    """``<locale>/paths.json``: the locale's paths, with their modules."""

    paths: Annotated[list[Path], Field(min_length=1)]


# --------------------------------------------------------------------------- locales


class Locale(WireModel):
    """A locale the page offers: its code (the directory name) and its display name."""

    code: LocaleCode
    name: Text


class LocalesFile(WireModel):
    """``locales.json``: the locales, in menu order; the first is the reference locale."""

    default_locale: LocaleCode
    locales: Annotated[list[Locale], Field(min_length=1)]

    @model_validator(mode="after")
    def _codes_are_consistent(self) -> Self:
        codes = [locale.code for locale in self.locales]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"locale codes must be unique; repeated: {', '.join(repeated)}")
        if self.default_locale not in codes:
            raise ValueError(f"defaultLocale {self.default_locale!r} is not one of the locales")
        return self
