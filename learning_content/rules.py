"""The cross-file rules of a content tree (spec §4.1, DESIGN §6), as pure functions.

No I/O here: :mod:`learning_content.validate` reads and parses the files, then hands the parsed
locales to :func:`check_content`, which returns every :class:`Problem` in a stable order. The
rules, in that order:

1. within a locale: a ``contentId``, ``pathId`` or ``moduleId`` defined twice; a module that
   lists the same item twice;
2. within a locale: a module referencing an item that ``items.json`` does not define; an item
   that no module references (unreachable content);
3. across the whole system (all locales): one ``interactionId`` used by two different items
   (the same item's translations share their interaction ids, as they must);
4. across locales, against the reference (default) locale: an item or path missing from one
   locale, a translation whose interaction ids differ (or whose kind, option ids, correct
   option or score differ: progress and quiz answers are shared between locales), a module
   whose items differ.

A locale whose file did not parse (``None``) is left out of the rules that need that file, so
one schema error is reported once rather than as a cascade of follow-up problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .models import Item, ItemsFile, Lesson, Path, PathsFile, Quiz

__all__ = ["ParsedLocale", "Problem", "check_content"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the content: the file it is in, what it is about, what is wrong."""

    file: str
    subject: str
    message: str

    def __str__(self) -> str:
        if self.subject:
            return f"{self.file}: {self.subject}: {self.message}"
        return f"{self.file}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedLocale:
    """One locale's two files, as displayed in problems, and their contents (``None``: unusable)."""

    code: str
    items_file: str
    paths_file: str
    items: ItemsFile | None
    paths: PathsFile | None


def check_content(locales: Sequence[ParsedLocale], reference: str) -> list[Problem]:
    """Every cross-file problem of ``locales``; ``reference`` is the default locale's code."""
    problems: list[Problem] = []
    for locale in locales:
        problems.extend(_duplicates(locale))
        problems.extend(_references(locale))
    problems.extend(_shared_interaction_ids(locales))
    ref = next((locale for locale in locales if locale.code == reference), None)
    if ref is not None:
        for other in locales:
            if other is not ref:
                problems.extend(_translation(ref, other))
    return problems


def _q(value: str) -> str:
    return repr(value)


def _ids(values: Iterable[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _first_definitions(items: ItemsFile) -> dict[str, Item]:
    """The items by contentId; with a duplicate, the first definition counts."""
    defined: dict[str, Item] = {}
    for item in items.items:
        defined.setdefault(item.content_id, item)
    return defined


# --------------------------------------------------------------------------- 1. duplicates


def _duplicates(locale: ParsedLocale) -> Iterator[Problem]:
    if locale.items is not None:
        seen: dict[str, int] = {}
        for index, item in enumerate(locale.items.items):
            if item.content_id in seen:
                yield Problem(
                    locale.items_file,
                    f"contentId {_q(item.content_id)}",
                    f"defined twice (items[{seen[item.content_id]}] and items[{index}])",
                )
            else:
                seen[item.content_id] = index
    if locale.paths is not None:
        paths_seen: set[str] = set()
        modules_seen: dict[str, str] = {}
        for path in locale.paths.paths:
            if path.path_id in paths_seen:
                yield Problem(locale.paths_file, f"pathId {_q(path.path_id)}", "defined twice")
            paths_seen.add(path.path_id)
            for module in path.modules:
                if module.module_id in modules_seen:
                    first_path = modules_seen[module.module_id]
                    where = (
                        f"in path {_q(path.path_id)}"
                        if first_path == path.path_id
                        else f"in path {_q(first_path)} and in path {_q(path.path_id)}"
                    )
                    yield Problem(
                        locale.paths_file,
                        f"moduleId {_q(module.module_id)}",
                        f"defined twice ({where})",
                    )
                else:
                    modules_seen[module.module_id] = path.path_id
                listed: set[str] = set()
                for content_id in module.items:
                    if content_id in listed:
                        yield Problem(
                            locale.paths_file,
                            f"moduleId {_q(module.module_id)}",
                            f"lists contentId {_q(content_id)} twice",
                        )
                    listed.add(content_id)


# --------------------------------------------------------------------------- 2. references


def _references(locale: ParsedLocale) -> Iterator[Problem]:
    if locale.items is None or locale.paths is None:
        return
    defined = _first_definitions(locale.items)
    referenced: set[str] = set()
    for path in locale.paths.paths:
        for module in path.modules:
            for content_id in module.items:
                referenced.add(content_id)
                if content_id not in defined:
                    yield Problem(
                        locale.paths_file,
                        f"contentId {_q(content_id)}",
                        f"referenced by module {_q(module.module_id)} but not defined in"
                        f" {locale.items_file}",
                    )
    for content_id in defined:
        if content_id not in referenced:
            yield Problem(
                locale.items_file,
                f"contentId {_q(content_id)}",
                f"defined but not referenced by any module in {locale.paths_file}",
            )


# --------------------------------------------------------------------------- 3. interactions


def _shared_interaction_ids(locales: Sequence[ParsedLocale]) -> Iterator[Problem]:
    # interactionId -> (contentId, file) of the first item that uses it
    owner: dict[str, tuple[str, str]] = {}
    for locale in locales:
        if locale.items is None:
            continue
        for item in locale.items.items:
            for interaction_id in item.interaction_ids:
                first = owner.setdefault(interaction_id, (item.content_id, locale.items_file))
                first_id, first_file = first
                if first_id == item.content_id:
                    continue
                yield Problem(
                    locale.items_file,
                    f"interactionId {_q(interaction_id)}",
                    f"used by contentId {_q(item.content_id)} and by contentId {_q(first_id)}"
                    f" ({first_file})",
                )


# --------------------------------------------------------------------------- 4. translations


def _translation(ref: ParsedLocale, other: ParsedLocale) -> Iterator[Problem]:
    if ref.items is not None and other.items is not None:
        yield from _translated_items(ref, ref.items, other, other.items)
    if ref.paths is not None and other.paths is not None:
        yield from _translated_paths(ref, ref.paths, other, other.paths)


def _translated_items(
    ref: ParsedLocale, ref_items: ItemsFile, other: ParsedLocale, other_items: ItemsFile
) -> Iterator[Problem]:
    theirs = _first_definitions(other_items)
    ours = _first_definitions(ref_items)
    for content_id, item in ours.items():
        subject = f"contentId {_q(content_id)}"
        translated = theirs.get(content_id)
        if translated is None:
            yield Problem(other.items_file, subject, f"missing (defined in {ref.items_file})")
            continue
        for message in _item_differences(item, translated):
            yield Problem(other.items_file, subject, f"{message} (in {ref.items_file})")
    for content_id in theirs:
        if content_id not in ours:
            yield Problem(
                other.items_file,
                f"contentId {_q(content_id)}",
                f"not defined in {ref.items_file} (the reference locale)",
            )


def _item_differences(ref: Lesson | Quiz, other: Lesson | Quiz) -> Iterator[str]:
    """How a translation differs from the reference in what progress depends on."""
    if ref.kind != other.kind:
        yield f"kind {_q(other.kind)} differs from {_q(ref.kind)}"
        return
    if ref.interaction_ids != other.interaction_ids:
        yield (
            f"interaction ids {_ids(other.interaction_ids)} differ from {_ids(ref.interaction_ids)}"
        )
    if isinstance(ref, Quiz) and isinstance(other, Quiz):
        if ref.option_ids != other.option_ids:
            yield f"option ids {_ids(other.option_ids)} differ from {_ids(ref.option_ids)}"
        if ref.correct_option_id != other.correct_option_id:
            yield (
                f"correctOptionId {_q(other.correct_option_id)} differs from"
                f" {_q(ref.correct_option_id)}"
            )
        if ref.score != other.score:
            yield f"score {other.score} differs from {ref.score}"


def _translated_paths(
    ref: ParsedLocale, ref_paths: PathsFile, other: ParsedLocale, other_paths: PathsFile
) -> Iterator[Problem]:
    theirs: dict[str, Path] = {}
    for path in other_paths.paths:
        theirs.setdefault(path.path_id, path)
    ours: dict[str, Path] = {}
    for path in ref_paths.paths:
        ours.setdefault(path.path_id, path)
    for path_id, path in ours.items():
        translated = theirs.get(path_id)
        subject = f"pathId {_q(path_id)}"
        if translated is None:
            yield Problem(other.paths_file, subject, f"missing (defined in {ref.paths_file})")
            continue
        ref_modules = [m.module_id for m in path.modules]
        other_modules = [m.module_id for m in translated.modules]
        if ref_modules != other_modules:
            yield Problem(
                other.paths_file,
                subject,
                f"modules {_ids(other_modules)} differ from {_ids(ref_modules)}"
                f" (in {ref.paths_file})",
            )
            continue
        for ref_module, module in zip(path.modules, translated.modules, strict=True):
            if ref_module.items != module.items:
                yield Problem(
                    other.paths_file,
                    f"moduleId {_q(module.module_id)}",
                    f"items {_ids(module.items)} differ from {_ids(ref_module.items)}"
                    f" (in {ref.paths_file})",
                )
    for path_id in theirs:
        if path_id not in ours:
            yield Problem(
                other.paths_file,
                f"pathId {_q(path_id)}",
                f"not defined in {ref.paths_file} (the reference locale)",
            )
