"""The learning content: its models, and ``learning-validate`` (DESIGN §6, spec §4.1).

Layout of a content tree (``web/content/`` in the repository)::

    locales.json            the locales, in menu order, and the default (reference) locale
    <locale>/items.json     every item of the locale (lessons and quizzes), each defined once
    <locale>/paths.json     paths -> modules -> lists of contentIds (items are reused by id)

``locales.json``::

    {"defaultLocale": "en",
     "locales": [{"code": "en", "name": "English"}, {"code": "fr", "name": "Français"}]}

``<locale>/items.json`` (``kind`` tags the item; ``body`` is a list of paragraphs;
``explanation`` is optional and shown after an answer)::

    {"items": [
      {"kind": "lesson", "contentId": "patterns-everywhere", "contentVersion": "v1",
       "title": "Patterns everywhere", "body": ["First paragraph.", "Second paragraph."]},
      {"kind": "quiz", "contentId": "quiz-coin-streak", "contentVersion": "v1",
       "title": "A streak of heads", "interactionId": "coin-streak-answer",
       "question": "A fair coin lands heads five times. The next toss is...",
       "options": [{"id": "heads", "text": "..."}, {"id": "even", "text": "..."}],
       "correctOptionId": "even", "score": 10, "explanation": "..."}
    ]}

``<locale>/paths.json``::

    {"paths": [
      {"pathId": "thinking-clearly", "title": "...", "description": "...",
       "modules": [{"moduleId": "spotting-patterns", "title": "...",
                    "items": ["patterns-everywhere", "quiz-coin-streak"]}]}
    ]}

The ids are the ones progress events carry: ``contentId`` and ``contentVersion`` go into a
``content.progressed`` payload, ``interactionId`` and an option ``id`` (as
``selectedOptionId``) into its ``interaction``, ``pathId`` into onboarding and the active path.
All ids are kebab-case, 1 to 128 characters. Locales share their ids: the same ``contentId`` in
two locales is the same item translated (same kind, interaction ids, option ids, correct
option and score), and ``paths.json`` lists the same paths, modules and items in every locale;
only the text differs. So progress is shared when the learner switches locale.

An ``interactionId`` is unique in the whole system: two different items never share one.

The checker is :mod:`learning_content.validate` (``learning-validate [CONTENT_DIR]``, or
``python -m learning_content``); it is not imported here, so that ``python -m
learning_content.validate`` runs cleanly too.
"""

from .models import (
    ContentId,
    InteractionId,
    Item,
    ItemsFile,
    Lesson,
    Locale,
    LocalesFile,
    Module,
    Path,
    PathsFile,
    Quiz,
    QuizOption,
)
from .rules import ParsedLocale, Problem, check_content

__all__ = [
    "ContentId",
    "InteractionId",
    "Item",
    "ItemsFile",
    "Lesson",
    "Locale",
    "LocalesFile",
    "Module",
    "ParsedLocale",
    "Path",
    "PathsFile",
    "Problem",
    "Quiz",
    "QuizOption",
    "check_content",
]
