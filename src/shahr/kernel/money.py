"""Money is integer Rial everywhere: storage, arithmetic and APIs. Toman (÷10) only on screen.

Citizens read Toman, as prices are spoken in Tehran: every page shows an amount in Toman
(`format_toman`, the `toman` filter). Where the exact sum matters, a receipt and the bank's
page, the exact Rial follows the Toman (`format_toman_and_rial`, the `toman_rial` filter);
Rial is never shown alone.
"""

from __future__ import annotations

from typing import NewType

from shahr.kernel.persian import persian_digits

Rial = NewType("Rial", int)

PERSIAN_THOUSANDS_SEPARATOR = "\u066c"  # ٬


def rial(amount: int) -> Rial:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("Rial amounts are integers")
    return Rial(amount)


def group_thousands(amount: int, language: str = "fa") -> str:
    """`1234567` as `۱٬۲۳۴٬۵۶۷` in Persian or `1,234,567` in English."""
    grouped = f"{amount:,}"
    if language == "fa":
        return persian_digits(grouped.replace(",", PERSIAN_THOUSANDS_SEPARATOR))
    return grouped


def format_rial(amount: int, language: str = "fa") -> str:
    unit = "ریال" if language == "fa" else "Rial"
    return f"{group_thousands(amount, language)} {unit}"


def format_toman(amount: int, language: str = "fa") -> str:
    """Toman for display only; rounds half a Toman towards zero, never used in arithmetic."""
    unit = "تومان" if language == "fa" else "Toman"
    # `//` floors, which would round a negative amount (a refund) away from zero.
    toman = int(amount) // 10 if amount >= 0 else -(-int(amount) // 10)
    return f"{group_thousands(toman, language)} {unit}"


def format_toman_and_rial(amount: int, language: str = "fa") -> str:
    """Toman first, then the exact Rial the bank moved: `۱۰٬۸۰۰ تومان (۱۰۸٬۰۰۰ ریال)`."""
    return f"{format_toman(amount, language)} ({format_rial(amount, language)})"
