"""Every message payments shows has a Persian translation with the same `{fields}`."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from shahr.kernel.web import i18n

PAYMENTS = Path(__file__).resolve().parents[2] / "src" / "shahr" / "payments"
# Kept by the web shell's own catalog.
SHELL = {"Please sign in first.", "Nothing was found at this address."}


def raised_messages(path: Path) -> set[str]:
    """Literal messages given to an `...Error(...)` call, or as `message=` to one."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")).endswith("Error")
            # A ValueError is for programmers and never shown to a citizen.
            and getattr(node.func, "id", "") != "ValueError"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
        if (
            isinstance(node, ast.keyword)
            and node.arg == "message"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            found.add(node.value.value)
    return found


def template_messages(path: Path) -> set[str]:
    return {
        message if isinstance(message, str) else message[0]
        for _line, message, _comments, _context in extract_from_file(
            "jinja2.ext:babel_extract", str(path), options={"extensions": "jinja2.ext.i18n"}
        )
    }


MESSAGES = sorted(
    (
        {m for path in PAYMENTS.rglob("*.py") for m in raised_messages(path)}
        | {m for path in (PAYMENTS / "templates").rglob("*.html") for m in template_messages(path)}
        | {"Bad Gateway", "Service Unavailable", "Gateway Timeout"}
    )
    - SHELL
)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_payments_has_messages_to_translate() -> None:
    assert len(MESSAGES) >= 100


@pytest.mark.parametrize("message", MESSAGES)
def test_every_payments_message_has_a_persian_translation(message: str) -> None:
    translated = i18n.translations("fa").gettext(message)

    assert translated != message
    assert fields(translated) == fields(message)
