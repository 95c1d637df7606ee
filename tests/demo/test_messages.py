"""Every message the geography areas and the demo raise has a Persian translation."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from shahr.kernel.web import i18n

SOURCE = Path(__file__).resolve().parents[2] / "src" / "shahr"
MODULES = [
    *sorted((SOURCE / "parking").glob("*.py")),
    *sorted((SOURCE / "air_quality").glob("*.py")),
    *sorted((SOURCE / "demo").glob("*.py")),
]


def raised_messages(path: Path) -> list[str]:
    """The literal first argument of every `SomethingError(...)` call in the module."""
    messages = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.endswith("Error")
            and node.func.id != "ValueError"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            messages.append(node.args[0].value)
    return messages


MESSAGES = sorted({m for path in MODULES for m in raised_messages(path)})


def test_the_geography_areas_raise_messages_at_all() -> None:
    assert len(MESSAGES) >= 15


@pytest.mark.parametrize("message", MESSAGES)
def test_every_geography_message_has_a_persian_translation(message: str) -> None:
    translated = i18n.translations("fa").gettext(message)

    assert translated != message
    assert set(_fields(translated)) == set(_fields(message))


def _fields(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]
