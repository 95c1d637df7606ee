"""Persian text: normalise input, convert digits, and show dates in the Jalali calendar."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

import jdatetime

from shahr.kernel.clock import in_tehran

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"

_TO_ASCII_DIGITS = str.maketrans(PERSIAN_DIGITS + ARABIC_INDIC_DIGITS, "0123456789" * 2)
_TO_PERSIAN_DIGITS = str.maketrans("0123456789", PERSIAN_DIGITS)
_ARABIC_TO_PERSIAN_LETTERS = str.maketrans(
    {
        "ي": "ی",  # ARABIC LETTER YEH
        "ى": "ی",  # ARABIC LETTER ALEF MAKSURA
        "ك": "ک",  # ARABIC LETTER KAF
        "ە": "ه",  # ARABIC LETTER AE
        "ۀ": "هٔ",  # HEH WITH YEH ABOVE, decomposed
        "\u200f": None,  # RIGHT-TO-LEFT MARK
        "\u200e": None,  # LEFT-TO-RIGHT MARK
    }
)

JALALI_MONTHS_FA = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip
JALALI_MONTHS_EN = (
    "Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
    "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand",
)  # fmt: skip


def ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits become ASCII, for parsing."""
    return text.translate(_TO_ASCII_DIGITS)


def persian_digits(text: str) -> str:
    return text.translate(_TO_PERSIAN_DIGITS)


PERSIAN_DECIMAL_SEPARATOR = "\u066b"  # ٫


def format_decimal(value: float, places: int, language: str = "fa") -> str:
    """`1.25` as `۱٫۲۵` in Persian (the Persian decimal point) or `1.25` in English."""
    text = f"{value:,.{places}f}"
    if language != "fa":
        return text
    return persian_digits(text.replace(",", "\u066c").replace(".", PERSIAN_DECIMAL_SEPARATOR))


def normalise(text: str) -> str:
    """Normalise user input: NFC, Persian ی and ک, ASCII digits, single spaces, trimmed."""
    # Replace letters and drop direction marks before composing: a mark dropped after NFC
    # could leave a base letter and an accent side by side, which a second call would
    # compose, and normalising must give the same text however often it is applied.
    text = unicodedata.normalize("NFC", text.translate(_ARABIC_TO_PERSIAN_LETTERS))
    text = ascii_digits(text)
    return " ".join(text.split())


def jalali_year(day: date) -> int:
    """The Jalali year a calendar day falls in: 5 December 2026 is in 1405."""
    return int(jdatetime.date.fromgregorian(date=day).year)


def jalali(moment: datetime) -> jdatetime.datetime:
    """The Jalali date and Tehran wall-clock time of an aware instant."""
    return jdatetime.datetime.fromgregorian(datetime=in_tehran(moment))


def format_jalali(moment: datetime, language: str = "fa", *, with_time: bool = True) -> str:
    """`۵ آذر ۱۴۰۵، ۱۰:۳۰` in Persian; `5 Azar 1405, 10:30` in English (Tehran time)."""
    local = jalali(moment)
    months = JALALI_MONTHS_FA if language == "fa" else JALALI_MONTHS_EN
    text = f"{local.day} {months[local.month - 1]} {local.year}"
    if with_time:
        text += f"{'،' if language == 'fa' else ','} {local.hour:02d}:{local.minute:02d}"
    return persian_digits(text) if language == "fa" else text
