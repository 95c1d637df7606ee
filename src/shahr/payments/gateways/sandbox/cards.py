"""Card details as the sandbox bank page takes them: checked, each refusal named."""

from __future__ import annotations

from dataclasses import dataclass

from shahr.kernel.errors import DomainError
from shahr.kernel.persian import ascii_digits


class BankPageError(DomainError):
    """The sandbox bank page cannot accept what was typed, or this payment any more."""


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def parse_card_number(text: str) -> str:
    """Sixteen digits (Persian digits, spaces and dashes allowed) that pass the Luhn check."""
    digits = "".join(c for c in ascii_digits(text) if c not in " -\u200c")
    if len(digits) != 16 or not digits.isascii() or not digits.isdigit():
        raise BankPageError("Enter the 16 digits of the card number.", field="card_number")
    if not luhn_valid(digits):
        raise BankPageError("This card number is not valid; check the digits.", field="card_number")
    return digits


def mask_card(digits: str) -> str:
    """`6037-99**-****-1234`, as Iranian receipts print a card."""
    return f"{digits[:4]}-{digits[4:6]}**-****-{digits[12:]}"


def _digits_field(text: str, *, lengths: range, field: str, message: str) -> str:
    value = ascii_digits(text).strip()
    if not value.isascii() or not value.isdigit() or len(value) not in lengths:
        raise BankPageError(message, field=field)
    return value


@dataclass(frozen=True)
class CardEntry:
    """What the citizen typed on the bank page."""

    card_number: str
    cvv2: str
    expiry_month: str
    expiry_year: str
    pin: str


def check_card(entry: CardEntry) -> str:
    """The card's digits, once every field is well formed (else `BankPageError`)."""
    digits = parse_card_number(entry.card_number)
    _digits_field(entry.cvv2, lengths=range(3, 5), field="cvv2", message="CVV2 is 3 or 4 digits.")
    month = _digits_field(
        entry.expiry_month,
        lengths=range(1, 3),
        field="expiry_month",
        message="Enter the card's expiry month and year.",
    )
    _digits_field(
        entry.expiry_year,
        lengths=range(2, 3),
        field="expiry_year",
        message="Enter the card's expiry month and year.",
    )
    if not 1 <= int(month) <= 12:
        raise BankPageError("Enter the card's expiry month and year.", field="expiry_month")
    _digits_field(
        entry.pin,
        lengths=range(5, 13),
        field="pin",
        message="The dynamic password is 5 to 12 digits.",
    )
    return digits
