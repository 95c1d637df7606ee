"""The ledger in the database: balanced books and wallets that never go negative, whatever
happens and however many requests arrive at once."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from recording import RecordingBus
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import FixedClock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.kernel.stream import InProcessStream
from shahr.payments import services
from shahr.payments.domain import (
    InsufficientBalanceError,
    NothingPaidError,
    RefundTooLargeError,
    wallet_account,
)
from shahr.payments.gateways import SandboxPsp

from .flows import CITIZEN, balances, pay_at_bank, row_counts, token_of

if TYPE_CHECKING:
    from shahr.bootstrap import Container

RETURN_URL = "/parking"
A_TEHRAN_MORNING = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)


async def pay_from_wallet(
    database: Database, clock: FixedClock, psp: SandboxPsp, bus: EventBus, *, citizen: str,
    amount: int, reference: str,
) -> services.PaymentStart:  # fmt: skip
    return await services.request_payment(
        database,
        clock,
        psp,
        bus,
        citizen_id=citizen,
        amount_rial=amount,
        purpose="reservation",
        reference=reference,
        return_url=RETURN_URL,
        method="wallet",
    )


async def test_concurrent_wallet_payments_never_overdraw_the_wallet(
    container: Container, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    database = container.database
    await services.ensure_demo_wallet(database, clock, citizen_id=CITIZEN, amount_rial=100_000)

    results = await asyncio.gather(
        *(
            pay_from_wallet(
                database, clock, psp, bus, citizen=CITIZEN, amount=30_000, reference=f"r{n}"
            )
            for n in range(10)
        ),
        return_exceptions=True,
    )

    refused = [r for r in results if isinstance(r, InsufficientBalanceError)]
    assert len(refused) == 7, results
    assert len([r for r in results if isinstance(r, services.PaymentStart)]) == 3
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 10_000
    assert sum((await balances(database)).values()) == 0
    assert (await row_counts(database))["payments_order"] == 3


async def test_concurrent_first_reads_of_a_demo_wallet_credit_it_once(
    container: Container, clock: FixedClock
) -> None:
    database = container.database

    credited = await asyncio.gather(
        *(
            services.ensure_demo_wallet(database, clock, citizen_id=CITIZEN, amount_rial=2_000_000)
            for _ in range(8)
        )
    )

    assert credited.count(True) == 1
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 2_000_000


async def test_concurrent_refunds_for_one_reference_never_exceed_what_was_paid(
    container: Container, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> None:
    database = container.database
    await services.ensure_demo_wallet(database, clock, citizen_id=CITIZEN, amount_rial=100_000)
    await pay_from_wallet(
        database, clock, psp, bus, citizen=CITIZEN, amount=100_000, reference="res-1"
    )

    results = await asyncio.gather(
        *(
            services.refund(
                database, clock, bus, reference="res-1", amount_rial=40_000, reason=f"r{n}"
            )
            for n in range(5)
        ),
        return_exceptions=True,
    )

    assert len([r for r in results if isinstance(r, RefundTooLargeError)]) == 3, results
    assert await services.wallet_balance(database, clock, citizen_id=CITIZEN) == 80_000


async def test_the_database_itself_refuses_a_wallet_below_zero(container: Container) -> None:
    database = container.database
    await services.ensure_demo_wallet(
        database, FixedClock(A_TEHRAN_MORNING), citizen_id=CITIZEN, amount_rial=100
    )

    async with database.session() as session:
        with pytest.raises(IntegrityError):
            await session.execute(
                text("UPDATE payments_account SET balance_rial = -1 WHERE id = :id"),
                {"id": wallet_account(CITIZEN)},
            )


# --- any sequence of operations, against a fresh SQLite database per example ---

CITIZENS = ("c0", "c1", "c2")
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), st.integers(0, 2), st.integers(10_000, 400_000)),
        st.tuples(st.just("pay"), st.integers(0, 2), st.integers(1, 400_000)),
        st.tuples(st.just("refund"), st.integers(0, 6), st.integers(1, 400_000)),
    ),
    min_size=1,
    max_size=12,
)


async def run_operations(database: Database, operations: list[tuple[str, int, int]]) -> None:
    clock = FixedClock(A_TEHRAN_MORNING)
    psp = SandboxPsp(database, clock, signing_key=lambda: "property-test-key")
    bus = EventBus(InProcessStream(), city="test")
    expected = dict.fromkeys(CITIZENS, 0)
    paid: list[tuple[str, str, int]] = []  # (citizen, reference, amount left to refund)
    for number, (kind, who, amount) in enumerate(operations):
        if kind == "top_up":
            citizen = CITIZENS[who]
            start = await services.top_up_wallet(
                database, clock, psp, bus, citizen_id=citizen, amount_rial=amount
            )
            answer = await pay_at_bank(psp, token_of(start))
            await services.handle_callback(database, clock, psp, bus, params=answer.callback_params)
            expected[citizen] += amount
        elif kind == "pay":
            citizen = CITIZENS[who]
            reference = f"ref-{number}"
            try:
                await pay_from_wallet(
                    database, clock, psp, bus, citizen=citizen, amount=amount, reference=reference
                )
            except InsufficientBalanceError:
                assert amount > expected[citizen]
            else:
                assert amount <= expected[citizen]
                expected[citizen] -= amount
                paid.append((citizen, reference, amount))
        else:
            if who >= len(paid):
                with pytest.raises(NothingPaidError):
                    await services.refund(
                        database, clock, bus, reference="never-paid", amount_rial=amount,
                        reason="x",
                    )  # fmt: skip
                continue
            citizen, reference, left = paid[who]
            try:
                await services.refund(
                    database, clock, bus, reference=reference, amount_rial=amount,
                    reason=f"reason-{number}",
                )  # fmt: skip
            except RefundTooLargeError:
                assert amount > left
            else:
                assert amount <= left
                expected[citizen] += amount
                paid[who] = (citizen, reference, left - amount)
        derived = await balances(database)
        assert sum(derived.values()) == 0
        for citizen in CITIZENS:
            assert derived.get(wallet_account(citizen), 0) == expected[citizen] >= 0
    report = await services.reconcile(database, clock, psp, bus)
    assert report.clean, report


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_any_sequence_of_top_ups_payments_and_refunds_keeps_the_stored_books_at_zero(
    sqlite_template: Path, operations: list[tuple[str, int, int]]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "shahr.db"
        shutil.copyfile(sqlite_template, path)
        database = Database(Settings(database_url=f"sqlite:///{path}").sqlalchemy_url)

        async def run() -> None:
            try:
                await run_operations(database, operations)
            finally:
                await database.dispose()

        asyncio.run(run())
