"""The plate-shaped input: a plate typed box by box, and a plate's parts for a page to draw.

A form has a box per part of the metal plate (two digits, the letter from a list, three
digits, the region code; or a motorcycle's code and number); each box is read here with
Persian and Arabic-Indic digits and Arabic letters normalised, and an error names the box.
"""

from __future__ import annotations

from shahr.kernel.persian import normalise, persian_digits
from shahr.kernel.plates import (
    INVISIBLE_MARKS,
    IRAN_FA,
    InvalidPlateError,
    MotorcyclePlate,
    Plate,
    VehiclePlate,
    letter_label,
)

# The plate input's boxes, in the order of the metal plate, then a motorcycle's two.
PLATE_BOXES = ("first", "letter", "middle", "region", "top", "number")


def _digits_part(text: str, field: str) -> str:
    """One box of a plate-shaped form: Persian and Arabic digits read as ASCII, nothing else."""
    clean = normalise(text).translate(INVISIBLE_MARKS).replace(" ", "")
    if clean and not (clean.isascii() and clean.isdigit()):
        raise InvalidPlateError("Only digits go in this part of the plate.", field=field)
    return clean


def plate_from_parts(*, first: str, letter: str, middle: str, region: str) -> Plate:
    """The plate typed in a plate-shaped form, one box per part; the part to blame named."""
    spelled = normalise(letter).translate(INVISIBLE_MARKS)
    label = letter_label(spelled)
    if not spelled:
        raise InvalidPlateError("Choose the plate's letter.", field="letter")
    if label is None:
        raise InvalidPlateError(
            "{letter} is not a letter used on Iranian plates.", field="letter", letter=spelled
        )
    return Plate(
        first=_digits_part(first, "first"),
        letter=label,
        middle=_digits_part(middle, "middle"),
        region=_digits_part(region, "region"),
    )


def motorcycle_plate_from_parts(*, top: str, number: str) -> MotorcyclePlate:
    """A motorcycle plate typed in its two boxes; the part to blame named."""
    return MotorcyclePlate(top=_digits_part(top, "top"), number=_digits_part(number, "number"))


def plate_from_form(
    *, first: str, letter: str, middle: str, region: str, top: str, number: str
) -> VehiclePlate:
    """The plate typed in the plate-shaped input: the motorcycle boxes when only they are
    filled, else the car boxes (whose errors then name the box to blame)."""
    car_typed = any(part.strip() for part in (first, middle, region))
    if not car_typed and (top.strip() or number.strip()):
        return motorcycle_plate_from_parts(top=top, number=number)
    if not car_typed and not letter.strip():
        raise InvalidPlateError("Enter a licence plate.", field="plate")
    return plate_from_parts(first=first, letter=letter, middle=middle, region=region)


def plate_parts(plate: VehiclePlate) -> dict[str, str]:
    """A plate's parts as the metal shows them, with Persian digits, for a page to draw."""
    common = {
        "iran": IRAN_FA,
        "fa": plate.display_fa,
        "en": plate.display_en,
        "canonical": plate.canonical,
    }
    if isinstance(plate, MotorcyclePlate):
        return {
            **common,
            "shape": "motorcycle",
            "top": persian_digits(plate.top),
            "number": persian_digits(plate.number),
        }
    return {
        **common,
        "shape": "car",
        "first": persian_digits(plate.first),
        "letter": plate.letter_fa,
        "middle": persian_digits(plate.middle),
        "region": persian_digits(plate.region),
    }
