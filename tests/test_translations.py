"""Every message a user can see has its Persian, with the same `{fields}`, in every area.

One scan for all areas. It finds the messages in the code the way they reach a user:

- the first argument of a `DomainError` (any subclass) and of `gettext`/`_` calls;
- a `message="..."` argument, and `message = "..." if ... else "..."` assignments;
- messages kept as data: the values of module-level `*_LABELS`, `*_TITLES`, `*_HINTS` and
  `*_MESSAGES` tables (marked for translation by their name);
- the title of every HTTP status an area's errors map to (`kernel/web/problems.py` shows
  the status's own phrase when it has no title of its own);
- `{% trans %}` blocks and `_()` calls in every area's templates.

Then, for each area, every message found must have a Persian translation whose fields are
the message's; and each catalog under `locale/fa/LC_MESSAGES/` must be a UTF-8 gettext file
for Persian, every entry translated, into Persian, with the fields of its message id.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import string
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from http import HTTPStatus
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from shahr.kernel.errors import DomainError
from shahr.kernel.web import i18n

SRC = Path(__file__).resolve().parents[1] / "src" / "shahr"
CATALOGS = sorted((i18n.LOCALE_DIR / "fa" / "LC_MESSAGES").glob("*.po"))
# Modules directly under `shahr/` (the app, the CLI, the wiring) count with the kernel.
SHELL = "kernel"
AREAS = sorted(p.parent.name for p in SRC.glob("*/__init__.py"))
GETTEXT_CALLS = {"gettext", "_", "lazy_gettext"}
DATA_TABLE_SUFFIXES = ("_LABELS", "_TITLES", "_HINTS", "_MESSAGES")
# Each of these areas shows many messages: a scan that finds fewer has stopped reading.
AT_LEAST = {"identity": 40, "kernel": 60, "payments": 100, "parking": 100}


def area_of(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else SHELL


def _modules() -> list[str]:
    return [
        ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in sorted(SRC.rglob("*.py"))
        if path.stem != "__main__"
    ]


@cache
def domain_error_names() -> frozenset[str]:
    """Every DomainError class in the code, by name (importing every module finds them)."""
    for module in _modules():
        importlib.import_module(module)
    names, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return frozenset(names - set(dir(builtins)))


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def _texts(node: ast.expr | None) -> list[str]:
    """The literal strings an expression can be: a constant, or either branch of an `if`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _texts(node.body) + _texts(node.orelse)
    return []


def _table_texts(node: ast.Assign | ast.AnnAssign) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    named = [t.id for t in targets if isinstance(t, ast.Name)]
    if not any(name.endswith(DATA_TABLE_SUFFIXES) for name in named):
        return []
    value = node.value
    items: list[ast.expr | None] = []
    if isinstance(value, ast.Dict):
        items = list(value.values)
    elif isinstance(value, ast.List | ast.Tuple | ast.Set):
        items = list(value.elts)
    return [text for item in items for text in _texts(item)]


def messages_in_module(path: Path) -> set[str]:
    user_facing = domain_error_names() | GETTEXT_CALLS
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and _call_name(node) in user_facing:
            found.update(_texts(node.args[0]))
        elif (isinstance(node, ast.keyword) and node.arg == "message") or (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", "") for t in node.targets] == ["message"]
        ):
            found.update(_texts(node.value))
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            found.update(_table_texts(statement))
    return found


def status_titles() -> set[str]:
    """The phrase of every status an area's error answers with and the shell has no title for."""
    from shahr.bootstrap import error_status
    from shahr.kernel.web.problems import _STATUS_TITLES

    return {HTTPStatus(s).phrase for s in set(error_status().values()) - set(_STATUS_TITLES)}


@cache
def messages_by_area() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        found[area_of(path)].update(messages_in_module(path))
    found[SHELL].update(status_titles())
    method_map = [("**/templates/**.html", "jinja2")]
    for filename, _line, message, *_rest in extract_from_dir(
        str(SRC), method_map=method_map, options_map={"**/templates/**.html": {}}
    ):
        for text in [message] if isinstance(message, str) else message:
            if text:
                found[area_of(SRC / filename)].add(text)
    return {area: frozenset(texts) for area, texts in found.items()}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def persian(text: str) -> bool:
    return any("\u0600" <= char <= "\u06ff" for char in text)


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po)


# --- the messages in the code --------------------------------------------------------------


def test_the_scan_reads_every_area_that_shows_messages() -> None:
    found = messages_by_area()
    too_few = {area: len(found.get(area, ())) for area, n in AT_LEAST.items()}
    assert {area: count for area, count in too_few.items() if count < AT_LEAST[area]} == {}
    assert "Back to the home page" in found[SHELL]  # a gettext call
    assert "Car" in found["identity"]  # a label kept as data
    assert "Bad Gateway" in found[SHELL]  # a status without a title of its own


@pytest.mark.parametrize("area", AREAS)
def test_every_message_of_the_area_has_its_persian_with_the_same_fields(area: str) -> None:
    translations = i18n.translations("fa")
    messages = sorted(messages_by_area().get(area, ()))

    untranslated = [m for m in messages if translations.gettext(m) == m]
    fields_differ = [m for m in messages if fields(translations.gettext(m)) != fields(m)]

    assert untranslated == []
    assert fields_differ == []


# --- the catalogs ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", CATALOGS, ids=[p.stem for p in CATALOGS])
def test_each_catalog_is_a_utf8_gettext_file_for_persian(path: Path) -> None:
    catalog = read_catalog(path)

    assert str(catalog.locale) == "fa"
    assert catalog.charset == "utf-8"
    assert "Content-Type: text/plain; charset=UTF-8" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CATALOGS, ids=[p.stem for p in CATALOGS])
def test_each_catalog_entry_is_translated_into_persian_with_the_fields_of_its_id(
    path: Path,
) -> None:
    entries = [m for m in read_catalog(path) if m.id]

    untranslated = [m.id for m in entries if not m.string]
    not_persian = [m.id for m in entries if m.string and not persian(_first(m.string))]
    fields_differ = [
        m.id for m in entries if m.string and fields(_first(m.id)) != fields(_first(m.string))
    ]

    assert entries
    assert untranslated == []
    assert not_persian == []
    assert fields_differ == []


def _first(text: str | Sequence[str]) -> str:
    """A message, or the first form of a plural one."""
    return text if isinstance(text, str) else text[0]


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_catalogs_load(language: i18n.Language) -> None:
    i18n.translations(language)


def test_english_needs_no_catalog_because_the_messages_are_english() -> None:
    token = i18n.current_language.set("en")
    try:
        assert i18n.gettext("Sign in") == "Sign in"
    finally:
        i18n.current_language.reset(token)
