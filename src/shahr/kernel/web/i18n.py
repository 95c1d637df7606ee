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


def pick_language(cookie: str | None, default: Language) -> Language:
    """The language cookie wins; otherwise Persian first, whatever the browser says.

    Many phones in Tehran run an English interface, so Accept-Language is no sign that
    the citizen prefers English pages.
    """
    for language in LANGUAGES:
        if cookie == language:
            return language
    return default
