"""Payments' domain errors: English msgids with `{fields}`, translated at the edge."""

from __future__ import annotations

from shahr.kernel.errors import ConflictError, DomainError, NotFoundError, RateLimitedError


class InvalidAmountError(DomainError):
    """An amount that is not a positive whole number of Rial within the limits."""


class InvalidPaymentRequestError(DomainError):
    """A purpose, method, reference or return address the payments area cannot accept."""


class InsufficientBalanceError(ConflictError):
    """The wallet holds less than the payment; nothing was written."""


class PaymentNotFoundError(NotFoundError):
    """No such payment among the caller's."""


class PaymentStateError(ConflictError):
    """The payment is not in a state that allows this step."""


class PaymentExpiredError(ConflictError):
    """The payment's time ran out before it was confirmed; any money taken is returned."""


class PspUnavailableError(DomainError):
    """The payment gateway does not answer; nothing was charged."""


class PspTimeoutError(PspUnavailableError):
    """The payment gateway did not answer a verification in time."""


class PspRefusedError(DomainError):
    """The payment gateway refused a request (unknown token, settled payment reversed...)."""


class ForgedCallbackError(DomainError):
    """A callback whose signature does not check out; refused and flagged."""


class TooManyCallbacksError(RateLimitedError):
    """Payment returns came from one address faster than any payer makes them."""


class UnknownCallbackError(DomainError):
    """A correctly signed callback for a payment we do not know; refused and flagged."""


class AmountMismatchError(DomainError):
    """The amount the bank reports differs from the payment's; refused and flagged."""


class NoReceiptError(ConflictError):
    """The payment has not been paid, so it has no receipt."""


class RefundTooLargeError(ConflictError):
    """A refund larger than what remains of the amount paid for the reference."""


class NothingPaidError(ConflictError):
    """A refund for a reference nothing was paid for."""


class LedgerImbalanceError(DomainError):
    """A journal transaction whose entries do not sum to zero: a programming error."""


def invalid_amount() -> InvalidAmountError:
    return InvalidAmountError(
        "The amount must be a whole number of Rial, more than zero and at most 500,000,000 Rial.",
        field="amount_rial",
    )


def psp_amount_too_small() -> InvalidAmountError:
    return InvalidAmountError("Card payments must be at least 10,000 Rial.", field="amount_rial")


def psp_unavailable() -> PspUnavailableError:
    return PspUnavailableError(
        "The bank's payment gateway is not answering. Nothing was charged; try again in a"
        " few minutes.",
        retry_after_s=60,
    )


def insufficient_balance() -> InsufficientBalanceError:
    return InsufficientBalanceError(
        "Your wallet balance is not enough for this payment. Top up your wallet or pay by"
        " card. Nothing was charged.",
        field="amount_rial",
    )


def payment_not_found() -> PaymentNotFoundError:
    return PaymentNotFoundError("No such payment was found.")


def forged_callback() -> ForgedCallbackError:
    return ForgedCallbackError(
        "This payment confirmation could not be checked and was refused. Nothing was"
        " booked; if money was taken from your card, your bank will return it within 72"
        " hours."
    )


def too_many_callbacks(retry_after_s: int) -> TooManyCallbacksError:
    return TooManyCallbacksError(
        "Too many payment confirmations came from your connection. Nothing was changed; wait"
        " a minute and try again.",
        retry_after_s=retry_after_s,
    )


def too_many_callbacks_for_payment(retry_after_s: int) -> TooManyCallbacksError:
    return TooManyCallbacksError(
        "Too many confirmations came for this payment. Nothing was changed; wait a minute and"
        " look at the payment again.",
        retry_after_s=retry_after_s,
    )


def amount_mismatch() -> AmountMismatchError:
    return AmountMismatchError(
        "The amount the bank confirmed does not match the payment, so the payment was"
        " refused. Nothing was booked; if money was taken from your card, your bank will"
        " return it within 72 hours."
    )


def payment_expired() -> PaymentExpiredError:
    return PaymentExpiredError(
        "This payment took too long and was cancelled. Nothing was booked; if money was"
        " taken from your card, your bank will return it within 72 hours."
    )
