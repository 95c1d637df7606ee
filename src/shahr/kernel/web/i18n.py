"""Languages: gettext catalogs read from `shahr/locale/<language>/LC_MESSAGES/*.po`.

The `.po` files are compiled in memory when first used, so there is no build step and no
generated `.mo` file to keep in step. Persian is the first language.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any, Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from shahr.kernel.persian import persian_digits

Language = Literal["fa", "en"]
LANGUAGES: tuple[Language, ...] = ("fa", "en")
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"

current_language: ContextVar[Language] = ContextVar("current_language", default="fa")


@cache
def translations(language: Language) -> Translations:
    """Every `*.po` file of the language, merged: each area keeps its own catalog file."""
    merged = Translations()
    for po_file in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as po:
            catalog = read_po(po, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        merged.merge(Translations(fp=buffer))
    return merged


def _localised(params: dict[str, Any], language: Language) -> dict[str, Any]:
    """Numbers in a Persian sentence are written with Persian digits."""
    if language != "fa":
        return params
    return {
        k: persian_digits(str(v)) if isinstance(v, int | float) and not isinstance(v, bool) else v
        for k, v in params.items()
    }


def gettext(message: str, **params: Any) -> str:
    """Translate into the current request's language, then fill `{name}` fields."""
    language = current_language.get()
    text: str = translations(language).gettext(message)
    return text.format(**_localised(params, language)) if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    language = current_language.get()
    text: str = translations(language).ngettext(singular, plural, n)
    return text.format(**_localised({"n": n, **params}, language))


def direction(language: Language) -> Literal["rtl", "ltr"]:
    return "rtl" if language == "fa" else "ltr"


def pick_language(
    cookie: str | None, default: Language, accept_language: str | None = None
) -> Language:
    """The language of an answer: a program's `Accept-Language`, else the cookie, else ours.

    `accept_language` is given only for API calls: an app or a script says what it wants
    with each request. Pages follow the cookie, then Persian first, whatever the browser
    says: many phones in Tehran run an English interface, so a browser's Accept-Language is
    no sign that the citizen prefers English pages.
    """
    if accept_language:
        negotiated = negotiate(accept_language)
        if negotiated is not None:
            return negotiated
    for language in LANGUAGES:
        if cookie == language:
            return language
    return default


def negotiate(accept_language: str) -> Language | None:
    """The most preferred of our languages in an `Accept-Language` header, or None."""
    ranked: list[tuple[float, int, Language]] = []
    for position, item in enumerate(accept_language[:500].split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().split("-", 1)[0].lower()
        quality = 1.0
        if params.strip().lower().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        for language in LANGUAGES:
            if primary == language and quality > 0:
                ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None
