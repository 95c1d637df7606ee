"""The sandbox PSP: the merchant's side of the port, and the bank's page and switches."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from sqlalchemy import select, update

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.payments.domain import (
    MERCHANT_NAME_FA,
    PaymentOrder,
    PspRefusedError,
    PspTimeoutError,
    psp_unavailable,
)
from shahr.payments.gateways.port import (
    CALLBACK_PATH,
    SIGNATURE_FIELD,
    CallbackStatus,
    PspCallback,
    PspToken,
    VerifyResult,
    callback_key,
    read_signed_callback,
    sign_callback,
)
from shahr.payments.gateways.sandbox.cards import BankPageError, CardEntry, check_card, mask_card
from shahr.payments.gateways.sandbox.transactions import (
    DOWN_SWITCH,
    BankAnswer,
    SandboxScenario,
    SandboxStatus,
    SandboxTransaction,
    transaction_of,
)
from shahr.payments.persistence import SandboxSwitchRow, SandboxTransactionRow


class SandboxPsp:
    """The embedded PSP: a bank that lives in this app's database, for the demo and tests.

    The sandbox answers a simulated timeout at once instead of making the caller wait.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        signing_key: Callable[[], str],
        name: str = "sandbox",
        merchant_name: str = MERCHANT_NAME_FA,
    ) -> None:
        self._database = database
        self._clock = clock
        # A callable: the deployment's key is read (or, in development, made) on first use.
        self._signing_key = signing_key
        self._name = name
        self.merchant_name = merchant_name

    @property
    def name(self) -> str:
        return self._name

    def _key(self) -> bytes:
        return callback_key(self._signing_key(), self._name)

    # --- the merchant's side of the port ---

    async def request_token(self, order: PaymentOrder) -> PspToken:
        await self._refuse_when_down()
        token = secrets.token_urlsafe(24)
        now = self._clock.now()
        async with self._database.session() as session:
            session.add(
                SandboxTransactionRow(
                    token=token,
                    psp=self._name,
                    payment_id=order.id,
                    amount_rial=int(order.amount_rial),
                    merchant_name=self.merchant_name,
                    callback_url=CALLBACK_PATH.format(psp=self._name),
                    status=SandboxStatus.pending.value,
                    scenario=SandboxScenario.normal.value,
                    created_at=now,
                    expires_at=order.expires_at,
                )
            )
            await session.commit()
        return PspToken(token=token, redirect_url=f"/sandbox-psp/pay/{token}")

    def read_callback(self, params: Mapping[str, str]) -> PspCallback:
        return read_signed_callback(self._key(), params)

    async def verify(self, token: str, amount_rial: int) -> VerifyResult:
        await self._refuse_when_down()
        now = self._clock.now()
        async with self._database.session() as session:
            row = await session.get(SandboxTransactionRow, token, with_for_update=True)
            if row is None:
                return VerifyResult(ok=False, code="unknown_token", amount_rial=0)
            status = SandboxStatus(row.status)
            if status is SandboxStatus.paid and row.scenario == SandboxScenario.timeout:
                raise PspTimeoutError(
                    "The bank did not confirm the payment in time. If it is not confirmed,"
                    " any money taken will be returned to the card within 72 hours."
                )
            if status not in (SandboxStatus.paid, SandboxStatus.verified, SandboxStatus.settled):
                code = "reversed" if status is SandboxStatus.reversed else "not_paid"
                return VerifyResult(ok=False, code=code, amount_rial=row.amount_rial)
            if row.amount_rial != amount_rial:
                return VerifyResult(ok=False, code="amount_mismatch", amount_rial=row.amount_rial)
            if status is SandboxStatus.paid:
                row.status = SandboxStatus.verified.value
                row.verified_at = now
            result = VerifyResult(
                ok=True,
                code="ok",
                amount_rial=row.amount_rial,
                trace_no=row.trace_no,
                rrn=row.rrn,
                card_mask=row.card_mask,
            )
            await session.commit()
        return result

    async def settle(self, token: str) -> None:
        await self._refuse_when_down()
        async with self._database.session() as session:
            row = await session.get(SandboxTransactionRow, token, with_for_update=True)
            if row is None or row.status not in (SandboxStatus.verified, SandboxStatus.settled):
                raise PspRefusedError("The bank refused to settle a payment it has not verified.")
            if row.status == SandboxStatus.verified:
                row.status = SandboxStatus.settled.value
                row.settled_at = self._clock.now()
                await session.commit()

    async def reverse(self, token: str) -> bool:
        await self._refuse_when_down()
        async with self._database.session() as session:
            row = await session.get(SandboxTransactionRow, token, with_for_update=True)
            if row is None:
                return False
            status = SandboxStatus(row.status)
            if status is SandboxStatus.settled:
                raise PspRefusedError("The bank cannot reverse a settled payment.")
            if status is SandboxStatus.reversed:
                return True
            if status in (SandboxStatus.paid, SandboxStatus.verified):
                row.status = SandboxStatus.reversed.value
                row.reversed_at = self._clock.now()
                await session.commit()
                return True
            if status is SandboxStatus.pending:
                # The page stops taking cards for it: nothing can be paid after this.
                row.status = SandboxStatus.expired.value
                await session.commit()
            return False

    # --- the bank's side: its page and switches ---

    async def transaction(self, token: str) -> SandboxTransaction | None:
        async with self._database.session() as session:
            row = await session.get(SandboxTransactionRow, token)
            return None if row is None else transaction_of(row)

    async def recent(self, *, limit: int = 20) -> list[SandboxTransaction]:
        async with self._database.session() as session:
            rows = await session.scalars(
                select(SandboxTransactionRow)
                .order_by(SandboxTransactionRow.created_at.desc())
                .limit(limit)
            )
            return [transaction_of(row) for row in rows]

    async def is_down(self) -> bool:
        async with self._database.session() as session:
            row = await session.get(SandboxSwitchRow, DOWN_SWITCH)
            return bool(row is not None and row.enabled)

    async def set_down(self, down: bool) -> None:
        now = self._clock.now()
        async with self._database.session() as session:
            row = await session.get(SandboxSwitchRow, DOWN_SWITCH)
            if row is None:
                session.add(SandboxSwitchRow(name=DOWN_SWITCH, enabled=down, changed_at=now))
            else:
                row.enabled = down
                row.changed_at = now
            await session.commit()

    async def _refuse_when_down(self) -> None:
        if await self.is_down():
            raise psp_unavailable()

    async def pay(
        self,
        token: str,
        *,
        card_number: str,
        cvv2: str,
        expiry_month: str,
        expiry_year: str,
        pin: str,
        scenario: SandboxScenario = SandboxScenario.normal,
    ) -> BankAnswer:
        """The citizen pressed Pay: check the card, take the money (or decline), answer."""
        await self._refuse_when_down()
        digits = check_card(CardEntry(card_number, cvv2, expiry_month, expiry_year, pin))
        declined = scenario is SandboxScenario.decline
        values = {
            "status": (SandboxStatus.declined if declined else SandboxStatus.paid).value,
            "scenario": scenario.value,
            "card_mask": mask_card(digits),
            "trace_no": f"{secrets.randbelow(10**6):06d}",
            "rrn": f"{secrets.randbelow(10**12):012d}",
            "paid_at": None if declined else self._clock.now(),
        }
        row = await self._take_pending(token, values)
        outcome = CallbackStatus.declined if declined else CallbackStatus.ok
        return self._answer(
            row,
            outcome,
            no_callback=scenario is SandboxScenario.no_callback,
            deliver_twice=scenario is SandboxScenario.duplicate_callback,
        )

    async def cancel(self, token: str) -> BankAnswer:
        """The citizen pressed Cancel on the bank page."""
        await self._refuse_when_down()
        row = await self._take_pending(token, {"status": SandboxStatus.cancelled.value})
        return self._answer(row, CallbackStatus.cancelled)

    async def _take_pending(
        self, token: str, values: Mapping[str, object]
    ) -> SandboxTransactionRow:
        """Move a pending transaction on, once: a second press of Pay finds it taken."""
        now = self._clock.now()
        async with self._database.session() as session:
            result = await session.execute(
                update(SandboxTransactionRow)
                .where(
                    SandboxTransactionRow.token == token,
                    SandboxTransactionRow.status == SandboxStatus.pending.value,
                    SandboxTransactionRow.expires_at > now,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                row = await session.get(SandboxTransactionRow, token)
                if row is None:
                    raise BankPageError("This payment page does not exist.")
                # Expired by its deadline, or let go by the merchant before it.
                if row.status == SandboxStatus.expired or (
                    row.status == SandboxStatus.pending and row.expires_at <= now
                ):
                    raise BankPageError(
                        "This payment page has expired. Go back to the merchant and start again."
                    )
                raise BankPageError("This payment has already been processed.")
            await session.commit()
            row = await session.get(SandboxTransactionRow, token, populate_existing=True)
            assert row is not None  # noqa: S101  # updated a moment ago in this session
            return row

    def _answer(
        self,
        row: SandboxTransactionRow,
        outcome: CallbackStatus,
        *,
        no_callback: bool = False,
        deliver_twice: bool = False,
    ) -> BankAnswer:
        params = self.callback_params(transaction_of(row), outcome)
        return BankAnswer(
            transaction=transaction_of(row),
            callback_url=None if no_callback else f"{row.callback_url}?{urlencode(params)}",
            callback_params=params,
            deliver_twice=deliver_twice,
        )

    def callback_params(
        self, transaction: SandboxTransaction, outcome: CallbackStatus
    ) -> dict[str, str]:
        """The signed callback for a transaction, as the bank sends it back to the merchant."""
        fields = {
            "token": transaction.token,
            "payment_id": transaction.payment_id,
            "status": outcome.value,
            "amount_rial": str(transaction.amount_rial),
            "trace_no": transaction.trace_no or "",
            "rrn": transaction.rrn or "",
            "card": transaction.card_mask or "",
        }
        return {**fields, SIGNATURE_FIELD: sign_callback(self._key(), fields)}
