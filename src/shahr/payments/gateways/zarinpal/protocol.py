"""ZarinPal's v4 REST protocol as its documentation publishes it: paths, codes, answers.

Every call is a JSON POST under `{base}/pg/v4/payment/`; the answer is
`{"data": {"code": ..., ...}, "errors": []}` on success and
`{"data": [], "errors": {"code": -NN, "message": ...}}` on failure. Which HTTP status
comes with an error is not documented, so the code is read from the body of any 2xx or
4xx answer; a 5xx or a body without a code means ZarinPal did not answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

REQUEST_PATH = "/pg/v4/payment/request.json"
VERIFY_PATH = "/pg/v4/payment/verify.json"
REVERSE_PATH = "/pg/v4/payment/reverse.json"
INQUIRY_PATH = "/pg/v4/payment/inquiry.json"
START_PAY_PATH = "/pg/StartPay/{authority}"
# Amounts go in Rial, the ledger's unit, so nothing is converted (ZarinPal also takes IRT).
CURRENCY = "IRR"
# ZarinPal refuses a description longer than this (-9).
MAX_DESCRIPTION_CHARS = 500

SUCCESS = 100
ALREADY_VERIFIED = 101
VALIDATION = -9
TERMINAL_INVALID = -10
TERMINAL_INACTIVE = -11
TOO_MANY_ATTEMPTS = -12
AMOUNT_MISMATCH = -50
NOT_PAID = -51
UNEXPECTED = -52
NOT_THIS_MERCHANT = -53
INVALID_AUTHORITY = -54
NOT_FOUND = -55
CANNOT_REVERSE = -60
NOT_REVERSIBLE = -61
IP_NOT_SET = -62
REVERSE_WINDOW_PASSED = -63

# The merchant's own account or set-up is at fault (-10..-17): no payer can fix these, the
# city's operators must, so they are logged with their code.
TERMINAL_PROBLEMS = frozenset({TERMINAL_INVALID, TERMINAL_INACTIVE, -13, -14, -15, -16, -17})
# The authority is not one of ours at ZarinPal: nothing was paid through it.
UNKNOWN_AUTHORITY = frozenset({NOT_THIS_MERCHANT, INVALID_AUTHORITY, NOT_FOUND})


class SessionStatus(StrEnum):
    """A payment's state as inquiry.json reports it."""

    in_bank = "IN_BANK"  # the payer is on the bank's page
    paid = "PAID"  # paid, not verified: the money goes back unless it is verified
    verified = "VERIFIED"
    failed = "FAILED"
    reversed = "REVERSED"


@dataclass(frozen=True)
class Answer:
    """One answer from ZarinPal: its code, and the `data` object when it succeeded."""

    code: int
    data: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.code in (SUCCESS, ALREADY_VERIFIED)


def answer_of(body: object) -> Answer | None:
    """The code and data of a documented answer; None for anything else."""
    if not isinstance(body, dict):
        return None
    data, errors = body.get("data"), body.get("errors")
    if isinstance(data, dict) and _is_code(data.get("code")):
        return Answer(code=int(data["code"]), data=data)
    if isinstance(errors, dict) and _is_code(errors.get("code")):
        return Answer(code=int(errors["code"]), data={})
    return None


def _is_code(value: object) -> bool:
    # The documentation shows codes as numbers, and once as a string ("100"): take both.
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.lstrip("-").isdigit()
