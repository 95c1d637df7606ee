"""Every message a user can see has a Persian translation."""

from __future__ import annotations

import ast
import importlib
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from shahr.kernel.errors import DomainError
from shahr.kernel.web.i18n import translations

SRC = Path(__file__).resolve().parents[1] / "src" / "shahr"


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def domain_error_names() -> set[str]:
    """The names of every DomainError class in the code (the errors users see)."""
    for path in SRC.rglob("*.py"):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        if not module.endswith("__main__"):
            importlib.import_module(module.removesuffix(".__init__"))
    names, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def messages_in_python() -> set[tuple[str, str]]:
    """Domain error messages and `gettext("...")` calls in the code."""
    user_facing = domain_error_names() | {"gettext", "_"}
    found = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            name = _call_name(node)
            if name in user_facing and isinstance(first, ast.Constant):
                found.add((str(first.value), str(path.relative_to(SRC))))
    return found


def messages_in_templates() -> set[tuple[str, str]]:
    found = set()
    method_map = [("**/templates/**.html", "jinja2")]
    for filename, _line, message, *_rest in extract_from_dir(
        str(SRC), method_map=method_map, options_map={"**/templates/**.html": {}}
    ):
        if isinstance(message, str):
            found.add((message, filename))
    return found


def test_every_user_facing_message_has_a_persian_translation() -> None:
    persian = translations("fa")
    messages = messages_in_python() | messages_in_templates()
    assert messages, "the scan found no messages at all"
    missing = sorted(
        f"{where}: {message}" for message, where in messages if persian.gettext(message) == message
    )
    assert missing == []


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_a_translation_keeps_every_field_of_its_message() -> None:
    persian = translations("fa")
    wrong = sorted(
        f"{where}: {message}"
        for message, where in messages_in_python()
        if _fields(persian.gettext(message)) != _fields(message)
    )
    assert wrong == []


@pytest.mark.parametrize("language", ["fa", "en"])
def test_catalogs_load(language: str) -> None:
    translations(language)  # type: ignore[arg-type]
