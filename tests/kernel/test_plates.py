"""Iranian licence plates: the stored form, the two displays, and what people type."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.kernel.errors import DomainError
from shahr.kernel.persian import persian_digits
from shahr.kernel.plate_input import (
    motorcycle_plate_from_parts,
    plate_from_form,
    plate_from_parts,
)
from shahr.kernel.plates import (
    InvalidPlateError,
    MotorcyclePlate,
    Plate,
    check_plate_shape,
    parse_plate,
    parse_vehicle_plate,
    plate_letters,
)

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
A_PLATE = Plate(first="12", letter="B", middle="345", region="67")

plates = st.builds(
    Plate,
    first=st.integers(10, 99).map(str),
    letter=st.sampled_from([letter.label for letter in plate_letters()]),
    middle=st.integers(100, 999).map(str),
    region=st.integers(10, 99).map(str),
)


def test_the_letters_come_from_the_data_file_with_their_persian_glyphs() -> None:
    glyphs = {letter.label: letter.letter_fa for letter in plate_letters()}

    assert glyphs["B"] == "ب"
    assert glyphs["J"] == "ج"
    assert glyphs["D"] == "د"
    assert glyphs["A"] == "الف"
    assert glyphs["Taxi"] == "ت"
    assert glyphs["PwD"] == "♿"
    assert len(glyphs) == 18


def test_special_letters_keep_their_meaning_from_the_data_file() -> None:
    meanings = {letter.label: letter.meaning for letter in plate_letters()}

    assert meanings["Taxi"] == "Taxi"
    assert meanings["PwD"] == "People with Disabilities"
    assert meanings["B"] is None


def test_a_plate_has_one_ascii_stored_form_and_two_displays() -> None:
    assert A_PLATE.canonical == "12B345-67"
    assert str(A_PLATE) == "12B345-67"
    assert A_PLATE.display_fa == "۱۲ ب ۳۴۵ ایران ۶۷"
    assert A_PLATE.display_en == "12 B 345 Iran 67"
    assert A_PLATE.letter_fa == "ب"


def test_a_letter_with_a_long_label_keeps_it_in_the_stored_form() -> None:
    plate = Plate(first="22", letter="Sin", middle="365", region="20")

    assert plate.canonical == "22Sin365-20"
    assert plate.display_fa == "۲۲ س ۳۶۵ ایران ۲۰"
    assert plate.display_en == "22 Sin 365 Iran 20"


@given(plates)
def test_every_plate_parses_back_from_its_persian_display(plate: Plate) -> None:
    assert parse_plate(plate.display_fa) == plate


@given(plates)
def test_every_plate_parses_back_from_its_stored_form(plate: Plate) -> None:
    assert parse_plate(plate.canonical) == plate


@given(plates)
def test_every_plate_parses_back_from_its_english_display(plate: Plate) -> None:
    assert parse_plate(plate.display_en) == plate


@given(plates)
def test_every_plate_parses_back_when_typed_region_first_from_right_to_left(plate: Plate) -> None:
    typed = f"ایران {plate.region} {plate.middle} {plate.letter_fa} {plate.first}"

    assert parse_plate(persian_digits(typed)) == plate


@given(plates)
def test_every_plate_parses_back_from_persian_typed_without_spaces(plate: Plate) -> None:
    assert (
        parse_plate(persian_digits(f"{plate.first}{plate.letter_fa}{plate.middle}{plate.region}"))
        == plate
    )


@pytest.mark.parametrize(
    "typed",
    [
        "۱۲ ب ۳۴۵ ایران ۶۷",
        "۱۲ب۳۴۵-۶۷",
        "۱۲ب۳۴۵۶۷",
        "12 ب 345 ایران 67",
        "12B345-67",
        "12b345-67",
        "12 B 345 Iran 67",
        "12 b 345 IR 67",
        "12-B-345-67",
        "12 B 345 67",
        "12 B 345 67 Iran",
        "12B34567",
        "ایران ۶۷ ۳۴۵ ب ۱۲",
        "۶۷ ایران ۳۴۵ ب ۱۲",
        "67 345 B 12",
        "67345B12",
        "  ۱۲   ب   ۳۴۵   ایران   ۶۷  ",
        "\u200f۱۲ ب ۳۴۵ ایران ۶۷\u200f",
    ],
)
def test_the_ways_people_type_a_plate_all_parse_to_the_same_plate(typed: str) -> None:
    assert parse_plate(typed) == A_PLATE


def test_a_plate_typed_with_arabic_digits_parses_to_the_same_canonical_form() -> None:
    typed = "12 ب 345 ایران 67".translate(ARABIC_INDIC)

    assert typed == "١٢ ب ٣٤٥ ایران ٦٧"
    assert parse_plate(typed).canonical == "12B345-67"


def test_an_arabic_yeh_is_read_as_the_persian_letter_y() -> None:
    assert parse_plate("۱۲ ي ۳۴۵ ايران ۶۷").canonical == "12Y345-67"
    assert parse_plate("۱۲ ى ۳۴۵ ایران ۶۷").canonical == "12Y345-67"


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("۱۲ الف ۳۴۵ ایران ۶۷", "12A345-67"),
        ("۱۲ ا ۳۴۵ ایران ۶۷", "12A345-67"),
        ("۱۲ هـ ۳۴۵ ایران ۶۷", "12H345-67"),
        ("۱۲ ه ۳۴۵ ایران ۶۷", "12H345-67"),
        ("۱۲ ♿ ۳۴۵ ایران ۶۷", "12PwD345-67"),
        ("۱۲ ♿\ufe0f ۳۴۵ ایران ۶۷", "12PwD345-67"),
        ("12 pwd 345 Iran 67", "12PwD345-67"),
        ("۱۲ ت ۳۴۵ ایران ۶۷", "12Taxi345-67"),
        ("12 TAXI 345 IRAN 67", "12Taxi345-67"),
        ("۱۲ ع ۳۴۵ ایران ۶۷", "12PuV345-67"),
        ("۱۲ ط ۳۴۵ ایران ۶۷", "12T345-67"),
        ("12 sin 345 67", "12Sin345-67"),
        ("12Sad345-67", "12Sad345-67"),
        ("12 GH 345 67", "12Gh345-67"),
    ],
)
def test_each_letter_is_read_from_its_glyph_or_its_label(typed: str, canonical: str) -> None:
    assert parse_plate(typed).canonical == canonical


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ("", "plate", "Enter a licence plate."),
        ("   ", "plate", "Enter a licence plate."),
        ("\u200c", "plate", "Enter a licence plate."),
        ("12 X 345 67", "letter", "X is not a letter used on Iranian plates."),
        ("۱۲ ک ۳۴۵ ایران ۶۷", "letter", "ک is not a letter used on Iranian plates."),
        ("12 B 345 Tehran 67", "letter", "Tehran is not a letter used on Iranian plates."),
        ("1234567", "letter", "The plate has no letter."),
        ("12 B 3 J 67", "letter", "A plate has only one letter."),
        ("1 B 345 67", "first", "A plate starts with two digits; found 1."),
        ("123 B 345 67", "first", "A plate starts with two digits; found 3."),
        ("1 2 B 345 67", "first", "Each group of digits on a plate is written without spaces."),
        ("00 B 345 67", "first", "No group of digits on a plate starts with zero."),
        ("12 B 34 67", "middle", "A plate has three digits after its letter; found 2."),
        ("12 B 3456 67", "middle", "A plate has three digits after its letter; found 4."),
        ("12 B ایران 67", "middle", "A plate has three digits after its letter; found 0."),
        ("12 B 045 67", "middle", "No group of digits on a plate starts with zero."),
        ("12 B 345", "region", "The plate has no region code."),
        ("12 B 345 Iran", "region", "The plate has no region code."),
        ("345 B 12", "region", "The plate has no region code."),
        ("12 B 345 6", "region", "The region code has two digits; found 1."),
        ("12 B 345 678", "region", "The region code has two digits; found 3."),
        ("12 B 3456", "region", "The region code has two digits; found 1."),
        ("12 B 345 00", "region", "No group of digits on a plate starts with zero."),
        ("12 B 345 07", "region", "No group of digits on a plate starts with zero."),
        ("12 B 345 6 7", "region", "Each group of digits on a plate is written without spaces."),
        ("12 B 345 Iran 67 Iran", "plate", "«Iran» appears more than once."),
        ("Iran 12 B 345 67", "plate", "«Iran» stands next to the region code."),
        ("۱۲ ایران ب ۳۴۵ ۶۷", "plate", "«Iran» stands next to the region code."),
        ("12B345#67", "plate", "A plate cannot contain #."),
        ("12 B 345 67" * 5, "plate", "That is too long to be a licence plate."),
    ],
)
def test_a_text_that_is_not_a_plate_is_refused_with_the_part_to_blame(
    typed: str, field: str, message: str
) -> None:
    with pytest.raises(InvalidPlateError) as refused:
        parse_plate(typed)

    assert refused.value.field == field
    assert str(refused.value) == message
    assert isinstance(refused.value, DomainError)


def test_the_error_message_is_a_msgid_with_the_bad_letter_as_a_parameter() -> None:
    with pytest.raises(InvalidPlateError) as refused:
        parse_plate("12 Q 345 67")

    assert refused.value.message == "{letter} is not a letter used on Iranian plates."
    assert refused.value.params == {"letter": "Q"}


@given(st.text(max_size=30))
def test_any_text_either_parses_to_a_valid_plate_or_is_refused_with_a_field(text: str) -> None:
    try:
        plate = parse_plate(text)
    except InvalidPlateError as refused:
        field = refused.field
    else:
        field = None
        assert parse_plate(plate.canonical) == plate
    assert field in {None, "plate", "first", "letter", "middle", "region"}


@given(plates, st.sampled_from(["first", "middle", "region"]))
def test_a_plate_with_a_persian_digit_in_a_group_cannot_be_built(plate: Plate, part: str) -> None:
    digits = persian_digits(getattr(plate, part))

    with pytest.raises(InvalidPlateError) as refused:
        replace(plate, **{part: digits})

    assert refused.value.field == part


def test_a_plate_cannot_be_built_with_the_persian_glyph_instead_of_the_label() -> None:
    with pytest.raises(InvalidPlateError) as refused:
        Plate(first="12", letter="ب", middle="345", region="67")

    assert refused.value.field == "letter"


def test_plates_are_values_equal_by_their_parts() -> None:
    assert parse_plate("۱۲ ب ۳۴۵ ایران ۶۷") == A_PLATE
    assert len({A_PLATE, parse_plate("12B345-67")}) == 1


# --- motorcycles, and the plate-shaped form -------------------------------------------------

motorcycle_plates = st.builds(
    MotorcyclePlate,
    top=st.integers(100, 999).map(str),
    number=st.integers(0, 99_999).map(lambda n: f"{n:05d}"),
)


def test_a_motorcycle_plate_has_a_code_and_a_number_and_no_letter() -> None:
    plate = MotorcyclePlate(top="123", number="45678")

    assert plate.canonical == "123-45678"
    assert plate.display_fa == "ایران ۱۲۳ ۴۵۶۷۸"
    assert plate.display_en == "Iran 123 45678"


@given(motorcycle_plates)
def test_every_motorcycle_plate_parses_back_from_its_stored_form_and_displays(
    plate: MotorcyclePlate,
) -> None:
    assert parse_vehicle_plate(plate.canonical) == plate
    assert parse_vehicle_plate(plate.display_fa) == plate
    assert parse_vehicle_plate(plate.display_en) == plate
    assert parse_vehicle_plate(persian_digits(plate.top + plate.number)) == plate


@given(plates)
def test_a_car_plate_reads_the_same_through_the_reader_of_either_shape(plate: Plate) -> None:
    assert parse_vehicle_plate(plate.display_fa) == plate
    assert parse_vehicle_plate(plate.canonical) == plate


@given(st.text(max_size=30))
def test_any_text_is_a_plate_of_one_shape_or_refused_with_a_field(text: str) -> None:
    try:
        plate = parse_vehicle_plate(text)
    except InvalidPlateError as refused:
        field = refused.field
    else:
        field = None
        assert parse_vehicle_plate(plate.canonical) == plate
    assert field in {None, "plate", "first", "letter", "middle", "region", "top", "number"}


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ("1234 5678", "plate"),
        ("123 4567", "letter"),
        ("023 45678", "top"),
        ("123 45678 ایران ایران", "plate"),
    ],
)
def test_a_motorcycle_plate_of_the_wrong_shape_is_refused(typed: str, field: str) -> None:
    with pytest.raises(InvalidPlateError) as refused:
        parse_vehicle_plate(typed)

    assert refused.value.field == field


@given(motorcycle_plates, plates)
def test_a_plate_must_have_the_shape_of_its_vehicle_kind(
    motorcycle: MotorcyclePlate, car: Plate
) -> None:
    check_plate_shape(motorcycle, motorcycle=True)
    check_plate_shape(car, motorcycle=False)
    with pytest.raises(InvalidPlateError, match="motorcycle's plate has no letter"):
        check_plate_shape(car, motorcycle=True)
    with pytest.raises(InvalidPlateError, match="This is a motorcycle's plate"):
        check_plate_shape(motorcycle, motorcycle=False)


@given(plates)
def test_a_plate_typed_box_by_box_in_persian_or_arabic_digits_is_the_same_plate(
    plate: Plate,
) -> None:
    typed = plate_from_parts(
        first=persian_digits(plate.first),
        letter=plate.letter,
        middle=plate.middle.translate(ARABIC_INDIC),
        region=persian_digits(plate.region),
    )

    assert typed == plate


def test_a_letter_box_takes_the_arabic_spelling_of_a_persian_letter() -> None:
    typed = plate_from_parts(first="12", letter="ي", middle="345", region="67")

    assert typed.letter == "Y"


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ({"first": "1a", "letter": "B", "middle": "345", "region": "67"}, "first"),
        ({"first": "12", "letter": "", "middle": "345", "region": "67"}, "letter"),
        ({"first": "12", "letter": "Q", "middle": "345", "region": "67"}, "letter"),
        ({"first": "12", "letter": "B", "middle": "34", "region": "67"}, "middle"),
        ({"first": "12", "letter": "B", "middle": "345", "region": "x7"}, "region"),
    ],
)
def test_a_box_of_the_plate_form_with_a_wrong_value_is_named(
    parts: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidPlateError) as refused:
        plate_from_parts(**parts)

    assert refused.value.field == field


def test_a_motorcycle_plate_typed_in_its_two_boxes_names_the_box_to_blame() -> None:
    assert motorcycle_plate_from_parts(top="۱۲۳", number="٤٥٦٧٨").canonical == "123-45678"
    with pytest.raises(InvalidPlateError) as refused:
        motorcycle_plate_from_parts(top="123", number="45a78")

    assert refused.value.field == "number"


def test_the_plate_form_reads_the_motorcycle_boxes_only_when_the_car_boxes_are_empty() -> None:
    empty = {"first": "", "letter": "", "middle": "", "region": "", "top": "", "number": ""}

    motorcycle = plate_from_form(**{**empty, "top": "123", "number": "45678"})
    car = plate_from_form(
        **{**empty, "first": "۱۲", "letter": "B", "middle": "345", "region": "67", "top": "1"}
    )

    assert motorcycle.canonical == "123-45678"
    assert car.canonical == "12B345-67"
    with pytest.raises(InvalidPlateError) as refused:
        plate_from_form(**empty)
    assert refused.value.field == "plate"
