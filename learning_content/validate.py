"""``learning-validate [CONTENT_DIR]``: reads a content tree, prints its problems, exits 1 if any.

This module owns the I/O: finding the content directory, reading and parsing the JSON files
(syntax and schema errors become problems naming the file, the location and the id), and the
command line. The cross-file rules are in :mod:`learning_content.rules`.

Output: one line per problem, ``<file>: <subject>: <message>``, then a summary line; exit
status 1. On clean content, one line —
``learning-validate: 2 locales, 2 paths, 7 modules, 24 items: OK`` — and exit status 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .models import ItemsFile, LocalesFile, PathsFile
from .rules import ParsedLocale, Problem, check_content

__all__ = ["DEFAULT_CONTENT_DIR", "ContentReport", "main", "validate_content"]

#: Where the content lives, relative to the current directory or to the repository.
DEFAULT_CONTENT_DIR = Path("web") / "content"
_REPO_ROOT = Path(__file__).resolve().parent.parent
#: Keys that name a JSON object in a problem line (the deepest named object on the path wins).
_ID_KEYS = ("contentId", "moduleId", "pathId", "code")


@dataclass(frozen=True, slots=True)
class ContentReport:
    """What :func:`validate_content` found: the problems, and the counts of the reference locale."""

    problems: list[Problem]
    locales: int = 0
    paths: int = 0
    modules: int = 0
    items: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_content(content_dir: Path) -> ContentReport:
    """Reads and checks the content tree at ``content_dir`` (file names shown as given)."""
    problems: list[Problem] = []
    locales_path = content_dir / "locales.json"
    locales_file = _parse(locales_path, LocalesFile, problems)
    if locales_file is None:
        return ContentReport(problems)
    parsed: list[ParsedLocale] = []
    for locale in locales_file.locales:
        items_path = content_dir / locale.code / "items.json"
        paths_path = content_dir / locale.code / "paths.json"
        parsed.append(
            ParsedLocale(
                code=locale.code,
                items_file=str(items_path),
                paths_file=str(paths_path),
                items=_parse(items_path, ItemsFile, problems),
                paths=_parse(paths_path, PathsFile, problems),
            )
        )
    listed = {locale.code for locale in locales_file.locales}
    for entry in sorted(content_dir.iterdir()):
        if entry.is_dir() and entry.name not in listed:
            problems.append(
                Problem(str(entry), "", f"locale directory not listed in {locales_path}")
            )
    problems.extend(check_content(parsed, reference=locales_file.default_locale))
    reference = next(p for p in parsed if p.code == locales_file.default_locale)
    paths = reference.paths.paths if reference.paths is not None else []
    items = reference.items.items if reference.items is not None else []
    return ContentReport(
        problems,
        locales=len(parsed),
        paths=len(paths),
        modules=sum(len(path.modules) for path in paths),
        items=len({item.content_id for item in items}),
    )


def _parse[M: BaseModel](path: Path, model: type[M], problems: list[Problem]) -> M | None:
    """The file's model, or ``None`` with its problems appended (missing, JSON, schema)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(str(path), "", "missing"))
        return None
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(str(path), "", f"unreadable: {error}"))
        return None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        problems.append(
            Problem(
                str(path), "", f"invalid JSON: {error.msg} (line {error.lineno}, col {error.colno})"
            )
        )
        return None
    except _DuplicateKeyError as error:
        problems.append(Problem(str(path), "", f"invalid JSON: duplicate key {error.args[0]!r}"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            subject = _describe_location(data, detail["loc"])
            message = detail["msg"].removeprefix("Value error, ")
            problems.append(Problem(str(path), subject, message))
        return None


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _describe_location(data: Any, loc: tuple[int | str, ...]) -> str:
    """``items[3].options (contentId 'x')``: the path in the JSON, and the nearest named object.

    The tag that pydantic adds for a tagged union (``'quiz'``) is not a JSON key, so it is left
    out of the location.
    """
    location = ""
    named = ""
    node: Any = data
    for part in loc:
        if isinstance(node, dict):
            for key in _ID_KEYS:
                if isinstance(node.get(key), str):
                    named = f"{key} {node[key]!r}"
                    break
        if isinstance(part, int):
            location += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        elif isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue  # the tagged union's tag
        else:
            location += f".{part}" if location else part
            node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        for key in _ID_KEYS:
            if isinstance(node.get(key), str):
                named = f"{key} {node[key]!r}"
                break
    location = location or "(top level)"
    return f"{location} ({named})" if named else location


def _default_content_dir() -> Path:
    if DEFAULT_CONTENT_DIR.is_dir():
        return DEFAULT_CONTENT_DIR
    return _REPO_ROOT / DEFAULT_CONTENT_DIR


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: prints problems (one a line) and a summary; 0 when clean, else 1."""
    parser = argparse.ArgumentParser(
        prog="learning-validate",
        description="Check the learning content: schema, unique ids, references, translations.",
    )
    parser.add_argument(
        "content_dir",
        nargs="?",
        type=Path,
        help=f"the content directory (default: {DEFAULT_CONTENT_DIR} here or in the repository)",
    )
    args = parser.parse_args(argv)
    content_dir: Path = args.content_dir or _default_content_dir()
    if not content_dir.is_dir():
        print(f"{content_dir}: not a directory")
        print("learning-validate: 1 problem")
        return 1
    report = validate_content(content_dir)
    for problem in report.problems:
        print(problem)
    if not report.ok:
        print(f"learning-validate: {_plural(len(report.problems), 'problem')}")
        return 1
    counts = ", ".join(
        _plural(count, noun)
        for count, noun in (
            (report.locales, "locale"),
            (report.paths, "path"),
            (report.modules, "module"),
            (report.items, "item"),
        )
    )
    print(f"learning-validate: {counts}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
