"""The identity rules on their own: phone numbers, codes, one-time-code challenges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shahr.identity.domain import (
    InvalidApiKeyError,
    InvalidCodeFormatError,
    InvalidPhoneError,
    OtpChallenge,
    OtpCheck,
    WrongCodeError,
    check_staff_roles,
    mask_phone,
    minutes_until,
    parse_code,
    parse_phone,
    split_api_key,
)
from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Role

NOW = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "typed",
    [
        "09121234567",
        "9121234567",
        "+989121234567",
        "00989121234567",
        "989121234567",
        "0912 123 4567",
        "0912-123-4567",
        " +98 912 123 45 67 ",
        "۰۹۱۲۱۲۳۴۵۶۷",  # Persian digits
        "٠٩١٢١٢٣٤٥٦٧",  # Arabic-Indic digits
        "+۹۸ ۹۱۲-۱۲۳-۴۵۶۷",
    ],
)
def test_every_usual_spelling_of_a_mobile_number_gives_the_canonical_form(typed: str) -> None:
    assert parse_phone(typed) == "+989121234567"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "hello",
        "02112345678",  # a Tehran landline
        "0912123456",  # one digit short
        "091212345678",  # one digit long
        "+449121234567",  # another country
        "0812 123 4567",  # not a mobile prefix
        "0912١٢٣abc",
        "09121234567; DROP TABLE",
    ],
)
def test_anything_else_is_refused_naming_the_phone_field(typed: str) -> None:
    with pytest.raises(InvalidPhoneError) as refused:
        parse_phone(typed)
    assert refused.value.field == "phone"


def test_a_masked_phone_hides_the_middle_digits() -> None:
    assert mask_phone("+989121234567") == "0912***4567"


def test_a_code_may_be_typed_with_persian_digits_and_spaces() -> None:
    assert parse_code("۱۲۳ ۴۵۶", length=6) == "123456"


@pytest.mark.parametrize("typed", ["12345", "1234567", "12a456", "", "١٢٣٤٥x"])
def test_a_code_of_the_wrong_shape_is_refused_naming_the_code_field(typed: str) -> None:
    with pytest.raises(InvalidCodeFormatError) as refused:
        parse_code(typed, length=6)
    assert refused.value.field == "code"


def counted(attempts: int, *, code_hash: str | None = "right") -> OtpChallenge:
    """A challenge as the database hands it back, this attempt already counted."""
    return OtpChallenge(
        phone="+989121234567",
        code_hash=code_hash,
        expires_at=NOW + timedelta(seconds=120),
        wrong_attempts=attempts,
    )


def test_the_right_code_matches_within_the_allowed_attempts() -> None:
    assert counted(1).check("right", max_attempts=5) is OtpCheck.matched
    assert counted(5).check("right", max_attempts=5) is OtpCheck.matched


def test_a_wrong_code_says_how_many_tries_are_left() -> None:
    challenge = counted(2)
    assert challenge.check("wrong", max_attempts=5) is OtpCheck.wrong
    error = challenge.wrong_code_error(max_attempts=5)
    assert isinstance(error, WrongCodeError)
    assert error.params["remaining"] == 3


def test_the_last_allowed_wrong_code_spends_the_attempts() -> None:
    assert counted(5).check("wrong", max_attempts=5) is OtpCheck.spent


def test_past_the_limit_even_the_right_code_is_not_compared() -> None:
    assert counted(6).check("right", max_attempts=5) is OtpCheck.spent
    assert counted(201).check("right", max_attempts=5) is OtpCheck.spent


def test_a_cleared_code_matches_nothing() -> None:
    assert counted(1, code_hash=None).check("right", max_attempts=5) is OtpCheck.wrong


def test_a_lockout_reports_the_seconds_left_until_it_ends() -> None:
    locked = OtpChallenge(
        phone="+989121234567",
        code_hash=None,
        expires_at=NOW,
        locked_until=NOW + timedelta(seconds=900),
    )
    assert locked.lockout_left_s(NOW) == 900
    assert locked.lockout_left_s(NOW + timedelta(seconds=900)) is None


@pytest.mark.parametrize(("seconds", "minutes"), [(1, 1), (60, 1), (61, 2), (900, 15)])
def test_lockout_minutes_round_up_so_the_message_never_promises_too_early(
    seconds: int, minutes: int
) -> None:
    assert minutes_until(seconds) == minutes


def test_a_staff_account_cannot_hold_the_citizen_role_or_no_role() -> None:
    with pytest.raises(DomainError):
        check_staff_roles(frozenset({Role.citizen, Role.admin}))
    with pytest.raises(DomainError):
        check_staff_roles(frozenset())
    assert check_staff_roles(frozenset({Role.admin})) == {Role.admin}


@pytest.mark.parametrize("typed", ["", "shahr", "shahr_abc", "other_abc_def", "shahr__x"])
def test_a_malformed_api_key_is_refused(typed: str) -> None:
    with pytest.raises(InvalidApiKeyError):
        split_api_key(typed)


def test_an_api_key_splits_into_its_prefix_and_the_whole_key() -> None:
    assert split_api_key("shahr_ab12cd34_se_cr-et") == ("ab12cd34", "shahr_ab12cd34_se_cr-et")
