"""Reading a staff list's page number and choices from the query string, refusing what is not.

A list's filters arrive as plain text (a typed address, an old bookmark): a part that cannot
be read is left out and said, never a 422 or a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from shahr.kernel.persian import ascii_digits

# Longer than any page number or district: anything past it is refused before it is read.
LONGEST_NUMBER = 12
# What a list says of a page number it cannot read (a msgid).
PAGING_MESSAGES = {"page": "The page number is a whole number from 1 up."}


def whole_number(text: str) -> int | None:
    """A whole number typed with Persian, Arabic-Indic or ASCII digits; None if it is not one."""
    cleaned = ascii_digits(text.strip())
    if not cleaned or len(cleaned) > LONGEST_NUMBER:
        return None
    if not cleaned.isascii() or not cleaned.isdigit():
        return None
    return int(cleaned)


def page_number(text: str) -> int | None:
    """The page asked for (1 when none); None when what was asked is not a page number."""
    if not text.strip():
        return 1
    number = whole_number(text)
    return number if number is not None and number >= 1 else None


def page_link(path: str, values: dict[str, str], page: int) -> str:
    """The list's address for `page`, keeping the filter's chosen values."""
    query = {key: value for key, value in values.items() if value}
    query["page"] = str(page)
    return f"{path}?{urlencode(query)}"
