"""Every word the shell shows has its Persian, and the catalog is a proper gettext file."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from shahr.kernel.web import i18n, problems

SHELL_DIR = Path(__file__).resolve().parents[2] / "src" / "shahr" / "kernel" / "web"
CATALOG = i18n.LOCALE_DIR / "fa" / "LC_MESSAGES" / "messages.po"

# Raised by the edge and the guard, outside any template.
EDGE_MESSAGES = [
    "The request is too large (at most {limit} bytes).",
    "This form has expired. Reload the page and try again.",
    "Please sign in first.",
    "Your account may not do this.",
    "Nothing was found at this address.",
    "Back to the home page",
    "Shahr",
]


def template_messages() -> list[str]:
    found: list[str] = []
    for template in sorted((SHELL_DIR / "templates" / "shell").glob("*.html")):
        for _line, message, _comments, _context in extract_from_file(
            "jinja2.ext:babel_extract", str(template), options={"extensions": "jinja2.ext.i18n"}
        ):
            found.append(message if isinstance(message, str) else message[0])
    return found


SHELL_MESSAGES = sorted(
    {
        *template_messages(),
        *problems._STATUS_TITLES.values(),
        *problems._STATUS_HINTS.values(),
        *problems._VALIDATION_MESSAGES.values(),
        *EDGE_MESSAGES,
    }
)


def persian(message: str) -> str:
    token = i18n.current_language.set("fa")
    try:
        return i18n.gettext(message)
    finally:
        i18n.current_language.reset(token)


def test_the_templates_were_read() -> None:
    assert "Sign in" in SHELL_MESSAGES
    assert "Map of Tehran" in SHELL_MESSAGES
    assert len(SHELL_MESSAGES) > 60


@pytest.mark.parametrize("message", SHELL_MESSAGES)
def test_every_shell_message_has_its_persian(message: str) -> None:
    translated = persian(message)

    assert translated != message, f"no Persian for {message!r}"
    assert any("\u0600" <= char <= "\u06ff" for char in translated)


@pytest.mark.parametrize("message", [m for m in SHELL_MESSAGES if "{" in m])
def test_a_translation_keeps_the_fields_of_its_message(message: str) -> None:
    fields = {part.split("}")[0] for part in message.split("{")[1:]}

    translated = persian(message)

    assert {part.split("}")[0] for part in translated.split("{")[1:]} == fields


def test_the_catalog_is_a_utf8_gettext_file_for_persian() -> None:
    with CATALOG.open("rb") as po:
        catalog = read_po(po)

    assert catalog.locale is not None
    assert str(catalog.locale) == "fa"
    assert catalog.charset == "utf-8"
    assert "Content-Type: text/plain; charset=UTF-8" in CATALOG.read_text()
    assert [m.id for m in catalog if m.id and not m.string] == []


def test_english_needs_no_catalog_because_the_messages_are_english() -> None:
    token = i18n.current_language.set("en")
    try:
        assert i18n.gettext("Sign in") == "Sign in"
    finally:
        i18n.current_language.reset(token)
