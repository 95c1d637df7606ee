"""The payments domain: the ledger's rules, a payment's states, refunds and receipts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shahr.kernel.money import Rial
from shahr.payments.domain import (
    CITY_PARKING_REVENUE,
    DEMO_FUNDING,
    PAYMENT_WINDOW,
    VERIFY_WINDOW,
    Books,
    Entry,
    ForgedCallbackError,
    InsufficientBalanceError,
    InvalidAmountError,
    InvalidPaymentRequestError,
    JournalTransaction,
    LedgerImbalanceError,
    Method,
    NoReceiptError,
    NothingPaidError,
    PaymentId,
    PaymentOrder,
    PaymentStateError,
    PaymentStatus,
    Purpose,
    RefundTooLargeError,
    TransactionId,
    TransactionKind,
    check_refund,
    demo_credit_transaction,
    psp_clearing_account,
    receipt_of,
    refund_transaction,
    wallet_account,
)
from shahr.payments.gateways import (
    BankPageError,
    callback_key,
    luhn_valid,
    mask_card,
    parse_card_number,
    read_signed_callback,
    sign_callback,
)

NOW = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
WALLET = wallet_account("c1")


def transaction(*entries: tuple[str, int], key: str = "k") -> JournalTransaction:
    return JournalTransaction(
        id=TransactionId("t1"),
        kind=TransactionKind.payment,
        idempotency_key=key,
        entries=tuple(Entry(account, Rial(amount)) for account, amount in entries),  # type: ignore[arg-type]
        created_at=NOW,
        memo="test",
    )


def order(
    method: Method = Method.psp, purpose: Purpose = Purpose.reservation, amount: int = 120_000
) -> PaymentOrder:
    return PaymentOrder.new(
        PaymentId("p1"),
        citizen_id="c1",
        purpose=purpose,
        reference="res-1",
        amount_rial=amount,
        method=method,
        return_url="/parking/reservations/res-1",
        psp="sandbox",
        now=NOW,
    )


# --- the ledger ---


def test_a_transaction_whose_entries_do_not_sum_to_zero_is_refused() -> None:
    with pytest.raises(LedgerImbalanceError):
        transaction((WALLET, 100), (CITY_PARKING_REVENUE, -99))


def test_a_transaction_needs_two_entries() -> None:
    with pytest.raises(LedgerImbalanceError):
        transaction((WALLET, 0))


def test_a_zero_entry_is_refused_even_when_the_sum_is_zero() -> None:
    with pytest.raises(LedgerImbalanceError):
        transaction((WALLET, 0), (CITY_PARKING_REVENUE, 0))


def test_a_wallet_cannot_be_taken_below_zero_but_city_accounts_can() -> None:
    books = Books()
    books.post(
        demo_credit_transaction(TransactionId("t"), citizen_id="c1", amount_rial=Rial(500), at=NOW)
    )

    with pytest.raises(InsufficientBalanceError):
        books.post(transaction((WALLET, -501), (CITY_PARKING_REVENUE, 501)))
    books.post(transaction((WALLET, -500), (CITY_PARKING_REVENUE, 500)))

    assert books.balance(WALLET) == 0
    assert books.balance(DEMO_FUNDING) == -500
    assert books.total() == 0


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), st.integers(0, 2), st.integers(1, 5_000_000)),
        st.tuples(st.just("pay"), st.integers(0, 2), st.integers(1, 5_000_000)),
        st.tuples(st.just("refund"), st.integers(0, 2), st.integers(1, 5_000_000)),
    ),
    max_size=40,
)


@given(OPERATIONS)
def test_any_sequence_of_top_ups_payments_and_refunds_keeps_the_books_at_zero(
    operations: list[tuple[str, int, int]],
) -> None:
    books = Books()
    paid = dict.fromkeys(range(3), 0)
    for number, (kind, citizen, amount) in enumerate(operations):
        wallet = wallet_account(f"c{citizen}")
        if kind == "top_up":
            entries = ((psp_clearing_account("sandbox"), -amount), (wallet, amount))
        elif kind == "pay":
            entries = ((wallet, -amount), (CITY_PARKING_REVENUE, amount))
        else:
            # Refunds never exceed what was paid, as `check_refund` enforces.
            amount = min(amount, paid[citizen])
            if amount == 0:
                continue
            entries = ((CITY_PARKING_REVENUE, -amount), (wallet, amount))
        before = dict(books.balances)
        try:
            books.post(transaction(*entries, key=str(number)))
        except InsufficientBalanceError:
            assert books.balances == before  # refused whole: nothing half-booked
            continue
        if kind == "pay":
            paid[citizen] += amount
        elif kind == "refund":
            paid[citizen] -= amount
        assert books.total() == 0
        assert all(books.balance(wallet_account(f"c{c}")) >= 0 for c in range(3))


# --- a payment's states ---


def test_a_card_payment_goes_from_created_to_settled() -> None:
    payment = order()
    assert payment.status is PaymentStatus.created
    assert payment.expires_at == NOW + PAYMENT_WINDOW

    payment.redirect("tok", at=NOW)
    payment.receive_callback(at=NOW, trace_no="1", rrn="2", card_mask="6037-99**-****-0006")
    payment.verify(at=NOW)
    payment.settle(at=NOW)

    assert payment.status is PaymentStatus.settled
    assert payment.verify_by == NOW + VERIFY_WINDOW
    assert payment.is_paid


def test_a_verified_payment_can_never_be_reversed_or_failed() -> None:
    payment = order()
    payment.redirect("tok", at=NOW)
    payment.receive_callback(at=NOW, trace_no=None, rrn=None, card_mask=None)
    payment.verify(at=NOW)

    with pytest.raises(PaymentStateError):
        payment.reverse("not_verified_in_time", at=NOW)
    with pytest.raises(PaymentStateError):
        payment.fail("declined", at=NOW)


def test_a_payment_is_overdue_when_no_callback_came_in_its_window() -> None:
    payment = order()
    payment.redirect("tok", at=NOW)

    assert not payment.overdue(NOW + PAYMENT_WINDOW - timedelta(seconds=1))
    assert payment.overdue(NOW + PAYMENT_WINDOW)


def test_a_payment_is_overdue_when_it_was_not_verified_in_time_after_its_callback() -> None:
    payment = order()
    payment.redirect("tok", at=NOW)
    payment.receive_callback(
        at=NOW + timedelta(minutes=14), trace_no=None, rrn=None, card_mask=None
    )

    assert not payment.overdue(NOW + timedelta(minutes=20))
    assert payment.overdue(NOW + timedelta(minutes=14) + VERIFY_WINDOW)


@pytest.mark.parametrize("amount", [0, -5, 500_000_001, True, 1.5])
def test_an_amount_outside_the_limits_is_refused(amount: int) -> None:
    with pytest.raises(InvalidAmountError):
        order(method=Method.wallet, amount=amount)


def test_a_card_payment_under_the_psp_minimum_is_refused_but_a_wallet_may_pay_it() -> None:
    with pytest.raises(InvalidAmountError):
        order(method=Method.psp, amount=9_999)
    assert order(method=Method.wallet, amount=9_999).amount_rial == 9_999


@pytest.mark.parametrize(
    "url", ["https://evil.example/", "//evil.example", "/\\evil", "wallet", "/a\nb"]
)
def test_a_return_address_off_this_site_is_refused(url: str) -> None:
    with pytest.raises(InvalidPaymentRequestError):
        PaymentOrder.new(
            PaymentId("p"),
            citizen_id="c1",
            purpose=Purpose.reservation,
            reference="r",
            amount_rial=100_000,
            method=Method.psp,
            return_url=url,
            psp="sandbox",
            now=NOW,
        )


def test_a_wallet_cannot_top_itself_up() -> None:
    with pytest.raises(InvalidPaymentRequestError):
        order(method=Method.wallet, purpose=Purpose.top_up)


def test_verifying_a_top_up_books_the_psp_against_the_wallet() -> None:
    booked = order(purpose=Purpose.top_up).payment_transaction(TransactionId("t"), at=NOW)

    assert booked.kind is TransactionKind.top_up
    assert booked.deltas() == {psp_clearing_account("sandbox"): -120_000, WALLET: 120_000}
    assert booked.idempotency_key == "payment:p1"


def test_a_wallet_payment_books_the_wallet_against_parking_revenue() -> None:
    booked = order(method=Method.wallet).payment_transaction(TransactionId("t"), at=NOW)

    assert booked.deltas() == {WALLET: -120_000, CITY_PARKING_REVENUE: 120_000}


# --- refunds and receipts ---


def paid_order(amount: int = 120_000) -> PaymentOrder:
    payment = order(method=Method.wallet, amount=amount)
    payment.verify(at=NOW)
    return payment


def test_a_refund_can_never_exceed_what_remains_of_what_was_paid() -> None:
    assert check_refund(70_000, paid=[paid_order()], refunded_rial=50_000) == 70_000
    with pytest.raises(RefundTooLargeError):
        check_refund(70_001, paid=[paid_order()], refunded_rial=50_000)


def test_nothing_can_be_refunded_for_a_reference_nobody_paid_for() -> None:
    with pytest.raises(NothingPaidError):
        check_refund(1, paid=[], refunded_rial=0)


def test_a_refund_gives_revenue_back_to_the_wallet() -> None:
    booked = refund_transaction(
        TransactionId("t"),
        refund_id="r1",  # type: ignore[arg-type]
        citizen_id="c1",
        reference="res-1",
        reason="cancelled",
        amount_rial=Rial(40_000),
        purpose=Purpose.reservation,
        at=NOW,
    )
    assert booked.deltas() == {CITY_PARKING_REVENUE: -40_000, WALLET: 40_000}
    assert booked.idempotency_key == "refund:res-1:cancelled"


def test_only_a_paid_payment_has_a_receipt() -> None:
    with pytest.raises(NoReceiptError):
        receipt_of(order())
    receipt = receipt_of(paid_order())
    assert receipt.paid_at == NOW
    assert receipt.amount_rial == 120_000


# --- the PSP's protocol: cards and signatures ---


def test_card_numbers_must_be_sixteen_digits_that_pass_the_luhn_check() -> None:
    assert parse_card_number("۶۰۳۷ ۹۹۰۰ ۰۰۰۰ ۰۰۰۶") == "6037990000000006"
    assert luhn_valid("6037990000000006")
    with pytest.raises(BankPageError):
        parse_card_number("6037 9900 0000 0007")
    with pytest.raises(BankPageError):
        parse_card_number("6037 9900 0000 006")


def test_a_card_is_masked_as_iranian_receipts_print_it() -> None:
    assert mask_card("6037990000000006") == "6037-99**-****-0006"


def test_a_callback_signed_with_another_psps_key_is_forged() -> None:
    fields = {
        "token": "t",
        "payment_id": "p",
        "status": "ok",
        "amount_rial": "120000",
        "trace_no": "",
        "rrn": "",
        "card": "",
    }
    signed = {**fields, "sig": sign_callback(callback_key("secret", "other-psp"), fields)}

    with pytest.raises(ForgedCallbackError):
        read_signed_callback(callback_key("secret", "sandbox"), signed)
    assert read_signed_callback(callback_key("secret", "other-psp"), signed).amount_rial == 120_000
