"""Iranian licence plates: the value, its Persian and English forms, and a forgiving parser.

A plate reads, left to right on the metal, `۱۲ ب ۳۴۵ ایران ۶۷`: two digits, a series
letter, three digits, then the region code in its box under «ایران». The one stored form
is ASCII, `12B345-67`, with the letter's Latin label from `data/plate_letters.csv`
(`12Sin345-67`, `12Taxi345-67`); it is what tables and APIs keep, and what `parse_plate`
gives back for any way a person types the same plate.

A motorcycle's plate has no letter: a three-digit code above a five-digit number, stored
as `123-45678`; `parse_vehicle_plate` reads either shape, and `check_plate_shape` refuses
a car's plate on a motorcycle and the other way round.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shahr.kernel.errors import DomainError
from shahr.kernel.persian import normalise, persian_digits

IRAN_FA = "ایران"
IRAN_EN = "Iran"

# Words that mark the region code's box, matched after `normalise` and case-folding.
_IRAN_WORDS = frozenset({IRAN_FA, "iran", "ir"})
# Extra spellings people type for a letter, besides its glyph and its Latin label.
_LETTER_ALIASES = {"ا": "A"}
# Marks that change nothing a plate shows: tatweel (as in «هـ»), ZWNJ, ZWJ, emoji style.
INVISIBLE_MARKS = str.maketrans({"\u0640": None, "\u200c": None, "\u200d": None, "\ufe0f": None})
_TOKEN = re.compile(
    r"(?P<digits>[0-9]+)"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<symbol>\u267f)"  # ♿, the wheelchair symbol, is not a word character
    r"|(?P<separator>[\s\-\u2010-\u2015\u2212_|/\\.,،:]+)"
    r"|(?P<other>.)"
)
_MAX_INPUT_CHARS = 48
_BOX = "I"  # how `_words` marks the box word among runs of digits


class InvalidPlateError(DomainError):
    """The text is not an Iranian plate; `field` names the part to blame.

    `field` is one of `first`, `letter`, `middle`, `region` (a car plate's parts, for a form
    with a box per part), `top`, `number` (a motorcycle plate's) or `plate` when the text as
    a whole is wrong.
    """


@dataclass(frozen=True)
class PlateLetter:
    """A series letter that appears on Iranian plates, from `data/plate_letters.csv`."""

    label: str
    letter_fa: str
    meaning: str | None


@cache
def plate_letters() -> tuple[PlateLetter, ...]:
    """Every letter a plate may carry, in the order of the data file; read once."""
    source = resources.files("shahr.kernel").joinpath("data", "plate_letters.csv")
    rows = csv.DictReader(source.read_text(encoding="utf-8").splitlines())
    letters = tuple(
        PlateLetter(
            label=row["label"].strip(),
            # The file describes glyphs it cannot spell as a letter, e.g.
            # "♿ (wheelchair symbol)"; the glyph is what comes before the note.
            letter_fa=row["letter_fa"].split(" (", 1)[0].strip(),
            meaning=row["meaning_in_source"].strip() or None,
        )
        for row in rows
    )
    if len({letter.label.casefold() for letter in letters}) != len(letters):
        raise ValueError("plate_letters.csv repeats a label")
    if len({letter.letter_fa for letter in letters}) != len(letters):
        raise ValueError("plate_letters.csv repeats a letter")
    return letters


@cache
def _letters_by_label() -> dict[str, PlateLetter]:
    return {letter.label: letter for letter in plate_letters()}


def letter_label(spelled: str) -> str | None:
    """The Latin label of a letter as typed (glyph, label in any case, alias), else None."""
    spellings = _labels_by_spelling()
    return spellings.get(spelled) or spellings.get(spelled.casefold())


@cache
def _labels_by_spelling() -> dict[str, str]:
    """Every accepted spelling of a letter (glyph, label case-folded, alias) to its label."""
    spellings = dict(_LETTER_ALIASES)
    for letter in plate_letters():
        spellings[letter.letter_fa] = letter.label
        spellings[letter.label.casefold()] = letter.label
    return spellings


# The label of the ♿ letter in data/plate_letters.csv.
DISABILITY_SERIES_LETTER = "PwD"


@dataclass(frozen=True)
class Plate:
    """A private-car plate; `letter` is the Latin label (`B`, `Sin`, `Taxi`), digits ASCII."""

    first: str
    letter: str
    middle: str
    region: str

    def __post_init__(self) -> None:
        _check_group(self.first, 2, "first")
        if self.letter not in _letters_by_label():
            raise InvalidPlateError(
                "{letter} is not a letter used on Iranian plates.",
                field="letter",
                letter=self.letter,
            )
        _check_group(self.middle, 3, "middle")
        if not self.region:
            raise InvalidPlateError("The plate has no region code.", field="region")
        _check_group(self.region, 2, "region")

    @property
    def disability_series(self) -> bool:
        """The ♿ series, issued for a disabled driver's car: a hint, never a permit itself."""
        return self.letter == DISABILITY_SERIES_LETTER

    @property
    def canonical(self) -> str:
        """The one stored form: `12B345-67`."""
        return f"{self.first}{self.letter}{self.middle}-{self.region}"

    @property
    def letter_fa(self) -> str:
        return _letters_by_label()[self.letter].letter_fa

    @property
    def display_fa(self) -> str:
        """`۱۲ ب ۳۴۵ ایران ۶۷`"""
        return persian_digits(
            f"{self.first} {self.letter_fa} {self.middle} {IRAN_FA} {self.region}"
        )

    @property
    def display_en(self) -> str:
        """`12 B 345 Iran 67`"""
        return f"{self.first} {self.letter} {self.middle} {IRAN_EN} {self.region}"

    def __str__(self) -> str:
        return self.canonical


def _check_group(digits: str, size: int, field: str) -> None:
    if " " in digits:
        raise InvalidPlateError(
            "Each group of digits on a plate is written without spaces.", field=field
        )
    if len(digits) != size or not (digits.isascii() and digits.isdigit()):
        message = {
            "first": "A plate starts with two digits; found {count}.",
            "middle": "A plate has three digits after its letter; found {count}.",
            "region": "The region code has two digits; found {count}.",
        }[field]
        raise InvalidPlateError(message, field=field, count=len(digits))
    if digits[0] == "0":
        raise InvalidPlateError("No group of digits on a plate starts with zero.", field=field)


def parse_plate(text: str) -> Plate:
    """The plate a person typed, in any of the ways listed here; else InvalidPlateError.

    Accepted, after `normalise` (so Persian, Arabic-Indic and ASCII digits, Arabic ي/ك):
    - the letter as its Persian glyph (`ب`, `الف` or `ا`, `هـ`, `♿`) or its Latin label in
      any case (`B`, `sin`, `TAXI`, `PwD`);
    - groups joined or apart, separated by spaces, dashes, dots, commas, slashes or `|`;
    - the region code's box word, «ایران», `Iran` or `IR` in any case, once, on either
      side of the region code, or left out;
    - the plate's own left-to-right order (`12 ب 345 ایران 67`, `12B345-67`) or the order
      of reading it right to left, region first (`ایران ۶۷ ۳۴۵ ب ۱۲`, `67 345 B 12`).
    The order is told by which side of the letter holds the box word or, without it, the
    region's digits (the side with more digits). Each group must be one unbroken run.
    """
    tokens = _tokens(text)
    letters = [index for index, (kind, _) in enumerate(tokens) if kind == "letter"]
    if not letters:
        raise InvalidPlateError("The plate has no letter.", field="letter")
    if len(letters) > 1:
        raise InvalidPlateError("A plate has only one letter.", field="letter")
    boxes = [index for index, (kind, _) in enumerate(tokens) if kind == "iran"]
    if len(boxes) > 1:
        raise InvalidPlateError("«Iran» appears more than once.", field="plate")
    at = letters[0]
    before, after = _words(tokens[:at]), _words(tokens[at + 1 :])
    # The box word's side, else the side with more digits (the region's), tells the order.
    digits_before, digits_after = _digit_count(before), _digit_count(after)
    right_to_left = digits_before > digits_after
    if boxes:
        if digits_before != digits_after and right_to_left != (boxes[0] < at):
            raise InvalidPlateError("«Iran» stands next to the region code.", field="plate")
        right_to_left = boxes[0] < at
    # Read the number side from the letter outwards, so the middle group comes first.
    first, numbers = (after, before[::-1]) if right_to_left else (before, after)
    middle, region = _middle_and_region(numbers, right_to_left=right_to_left)
    return Plate(first=" ".join(first), letter=tokens[at][1], middle=middle, region=region)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, value) pairs: `digits`, `letter` (value: the label), `iran`, `space`."""
    clean = normalise(text).translate(INVISIBLE_MARKS)
    if not clean:
        raise InvalidPlateError("Enter a licence plate.", field="plate")
    if len(clean) > _MAX_INPUT_CHARS:
        raise InvalidPlateError("That is too long to be a licence plate.", field="plate")
    spellings = _labels_by_spelling()
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(clean):
        kind, value = match.lastgroup, match.group()
        if kind == "digits":
            tokens.append(("digits", value))
        elif kind == "separator":
            tokens.append(("space", " "))
        elif kind == "other":
            raise InvalidPlateError(
                "A plate cannot contain {character}.", field="plate", character=value
            )
        elif value.casefold() in _IRAN_WORDS:
            tokens.append(("iran", value))
        elif (label := spellings.get(value) or spellings.get(value.casefold())) is not None:
            tokens.append(("letter", label))
        else:
            raise InvalidPlateError(
                "{letter} is not a letter used on Iranian plates.", field="letter", letter=value
            )
    return tokens


def _words(tokens: list[tuple[str, str]]) -> list[str]:
    """Runs of digits as typed and `I` for the box word, separators dropped."""
    return [_BOX if kind == "iran" else value for kind, value in tokens if kind != "space"]


def _digit_count(words: list[str]) -> int:
    return sum(len(word) for word in words if word != _BOX)


def _middle_and_region(numbers: list[str], *, right_to_left: bool) -> tuple[str, str]:
    """Split the runs on the letter's number side, read outwards, into middle and region.

    A box word at the far end is dropped; elsewhere it splits the two; else the first run
    is the middle; else one unbroken run holds the three middle digits by the letter.
    """
    if numbers and numbers[-1] == _BOX:
        numbers = numbers[:-1]
    if _BOX in numbers:
        split = numbers.index(_BOX)
        return " ".join(numbers[:split]), " ".join(numbers[split + 1 :])
    if len(numbers) > 1:
        return numbers[0], " ".join(numbers[1:])
    run = numbers[0] if numbers else ""
    if right_to_left:  # typed region first: `67345`
        return run[-3:], run[:-3]
    return run[:3], run[3:]


# --- motorcycles: a three-digit code above a five-digit number, no letter -------------------


@dataclass(frozen=True)
class MotorcyclePlate:
    """A motorcycle plate: `top` the three-digit code, `number` the five digits below it."""

    top: str
    number: str

    def __post_init__(self) -> None:
        for part, size in (("top", 3), ("number", 5)):
            digits = getattr(self, part)
            if len(digits) != size or not (digits.isascii() and digits.isdigit()):
                message = {
                    "top": "A motorcycle plate's code has three digits; found {count}.",
                    "number": "A motorcycle plate's number has five digits; found {count}.",
                }[part]
                raise InvalidPlateError(message, field=part, count=len(digits))
        if self.top[0] == "0":
            raise InvalidPlateError("No group of digits on a plate starts with zero.", field="top")

    @property
    def canonical(self) -> str:
        """The one stored form: `123-45678`."""
        return f"{self.top}-{self.number}"

    @property
    def display_fa(self) -> str:
        """`ایران ۱۲۳ ۴۵۶۷۸`"""
        return persian_digits(f"{IRAN_FA} {self.top} {self.number}")

    @property
    def display_en(self) -> str:
        """`Iran 123 45678`"""
        return f"{IRAN_EN} {self.top} {self.number}"

    def __str__(self) -> str:
        return self.canonical


VehiclePlate = Plate | MotorcyclePlate


def parse_vehicle_plate(text: str) -> VehiclePlate:
    """A car's plate (with a letter, as `parse_plate` reads it) or a motorcycle's (without).

    A motorcycle's plate is typed code first: `123 45678`, `12345678`, «ایران ۱۲۳ ۴۵۶۷۸».
    """
    tokens = _tokens(text)
    if any(kind == "letter" for kind, _ in tokens):
        return parse_plate(text)
    if sum(1 for kind, _ in tokens if kind == "iran") > 1:
        raise InvalidPlateError("«Iran» appears more than once.", field="plate")
    runs = [value for kind, value in tokens if kind == "digits"]
    if len(runs) == 1 and len(runs[0]) == 8:
        runs = [runs[0][:3], runs[0][3:]]
    if len(runs) != 2 or (len(runs[0]), len(runs[1])) != (3, 5):
        if sum(len(run) for run in runs) == 8:
            raise InvalidPlateError(
                "A motorcycle plate has a three-digit code and a five-digit number.",
                field="plate",
            )
        raise InvalidPlateError("The plate has no letter.", field="letter")
    return MotorcyclePlate(top=runs[0], number=runs[1])


def check_plate_shape(plate: VehiclePlate, *, motorcycle: bool) -> None:
    """A motorcycle carries a motorcycle plate; every other vehicle a plate with a letter."""
    if motorcycle and not isinstance(plate, MotorcyclePlate):
        raise InvalidPlateError(
            "A motorcycle's plate has no letter: a three-digit code and a five-digit number.",
            field="plate",
        )
    if not motorcycle and isinstance(plate, MotorcyclePlate):
        raise InvalidPlateError(
            "This is a motorcycle's plate; a car, van, truck or minibus has a plate with a letter.",
            field="plate",
        )
