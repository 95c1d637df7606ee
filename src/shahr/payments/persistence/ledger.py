"""The ledger's repository: accounts, transactions and entries inside one unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from shahr.kernel.money import Rial
from shahr.kernel.upsert import upsert
from shahr.payments.domain import (
    PAID_STATUSES,
    AccountId,
    InsufficientBalanceError,
    JournalTransaction,
    LedgerImbalanceError,
    LedgerLine,
    PaymentId,
    TransactionId,
    TransactionKind,
    account_kind,
    check_postable,
    insufficient_balance,
    may_go_negative,
)
from shahr.payments.persistence.tables import (
    AccountRow,
    EntryRow,
    OrderRow,
    Repository,
    TransactionRow,
)

# Every payment runs these, so they are built once and take their values as parameters:
# built per call, each value became a bound parameter to coerce and hash into the
# statement's cache key, every time. Keyed by "is SQLite" where the dialects differ.
_ENTRIES = cast(Table, EntryRow.__table__)
_ENSURE_ACCOUNTS = {
    is_sqlite: upsert(AccountRow.__table__, on_postgresql=not is_sqlite).on_conflict_do_nothing(
        index_elements=["id"]
    )
    for is_sqlite in (True, False)
}
_ADD_TRANSACTION = {
    # The idempotency key's unique index answers "booked already?" in the insert itself.
    is_sqlite: upsert(TransactionRow.__table__, on_postgresql=not is_sqlite)
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(TransactionRow.id)
    for is_sqlite in (True, False)
}
_MOVE_WALLET = (
    update(AccountRow)
    .where(AccountRow.id == bindparam("account_id"))
    .values(balance_rial=AccountRow.balance_rial + bindparam("delta_rial"))
    .execution_options(synchronize_session=False)
)
_ADD_ENTRIES = insert(_ENTRIES)


class LedgerRepository(Repository):
    """Accounts, transactions and entries inside one unit of work."""

    async def post(self, transaction: JournalTransaction) -> bool:
        """Book the transaction; False if its fact (idempotency key) was already booked.

        Refuses, changing nothing, a transaction that would take a wallet below zero.
        """
        deltas = transaction.deltas()
        account_ids = sorted(deltas)
        await self._ensure_accounts(account_ids, transaction.created_at)
        guarded = [a for a in account_ids if not may_go_negative(a)]
        balances = await self._locked_balances(guarded)
        try:
            check_postable(transaction, balances)
        except InsufficientBalanceError:
            # A fact booked already is answered as such, whatever the balance is now.
            if await self.has_key(transaction.idempotency_key):
                return False
            raise
        # The fact's row goes first: its unique key says whether the fact was booked
        # already (after the lock, so a concurrent booking of it has committed by now;
        # without a lock the insert waits for it), before any balance moves.
        if not await self._add_transaction(transaction):
            return False
        try:
            for account_id in guarded:
                await self.session.execute(
                    _MOVE_WALLET, {"account_id": account_id, "delta_rial": deltas[account_id]}
                )
        except IntegrityError as error:  # the CHECK constraint: the last line of defence
            raise insufficient_balance() from error
        await self.session.execute(
            _ADD_ENTRIES,
            [
                {
                    "transaction_id": transaction.id,
                    "account_id": entry.account_id,
                    "amount_rial": int(entry.amount_rial),
                }
                for entry in transaction.entries
            ],
        )
        await self._check_stored_balanced(transaction.id)
        return True

    async def _add_transaction(self, transaction: JournalTransaction) -> bool:
        """Write the transaction's row; False, writing nothing, if its fact is booked already."""
        added = await self.session.scalar(
            _ADD_TRANSACTION[self.is_sqlite],
            {
                "id": transaction.id,
                "kind": transaction.kind.value,
                "idempotency_key": transaction.idempotency_key,
                "payment_id": transaction.payment_id,
                "refund_id": transaction.refund_id,
                "reference": transaction.reference,
                "memo": transaction.memo,
                "created_at": transaction.created_at,
            },
        )
        return added is not None

    async def _ensure_accounts(self, account_ids: list[AccountId], at: datetime) -> None:
        rows: list[dict[str, Any]] = [
            {
                "id": account_id,
                "kind": account_kind(account_id).value,
                "balance_rial": None if may_go_negative(account_id) else 0,
                "created_at": at,
            }
            for account_id in account_ids
        ]
        await self.session.execute(_ENSURE_ACCOUNTS[self.is_sqlite], rows)

    async def _locked_balances(self, account_ids: list[AccountId]) -> dict[AccountId, int]:
        if not account_ids:
            return {}
        result = await self.session.execute(
            select(AccountRow.id, AccountRow.balance_rial)
            .where(AccountRow.id.in_(account_ids))
            .order_by(AccountRow.id)
            .with_for_update()
        )
        return {AccountId(account_id): balance or 0 for account_id, balance in result.all()}

    async def _check_stored_balanced(self, transaction_id: str) -> None:
        """Read back what was written: the stored entries, not the object, must balance."""
        total, count = (
            await self.session.execute(
                select(func.coalesce(func.sum(EntryRow.amount_rial), 0), func.count()).where(
                    EntryRow.transaction_id == transaction_id
                )
            )
        ).one()
        if total != 0 or count < 2:
            raise LedgerImbalanceError("A ledger transaction's entries must sum to zero.")

    async def has_key(self, idempotency_key: str) -> bool:
        found = await self.session.scalar(
            select(TransactionRow.id).where(TransactionRow.idempotency_key == idempotency_key)
        )
        return found is not None

    async def balance(self, account_id: str) -> Rial:
        """The balance derived from the entries."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(EntryRow.amount_rial), 0)).where(
                EntryRow.account_id == account_id
            )
        )
        return Rial(int(total or 0))

    async def cached_balance(self, account_id: str) -> Rial | None:
        cached = await self.session.scalar(
            select(AccountRow.balance_rial).where(AccountRow.id == account_id)
        )
        return None if cached is None else Rial(cached)

    async def lines(self, account_id: str, *, limit: int) -> list[LedgerLine]:
        result = await self.session.execute(
            select(
                TransactionRow.id,
                TransactionRow.kind,
                EntryRow.amount_rial,
                TransactionRow.memo,
                TransactionRow.reference,
                TransactionRow.payment_id,
                TransactionRow.created_at,
            )
            .join(TransactionRow, TransactionRow.id == EntryRow.transaction_id)
            .where(EntryRow.account_id == account_id)
            .order_by(EntryRow.id.desc())
            .limit(limit)
        )
        return [
            LedgerLine(
                transaction_id=TransactionId(transaction_id),
                kind=TransactionKind(kind),
                amount_rial=Rial(amount),
                memo=memo,
                reference=reference,
                payment_id=None if payment_id is None else PaymentId(payment_id),
                created_at=created_at,
            )
            for transaction_id, kind, amount, memo, reference, payment_id, created_at in result
        ]

    async def books_total(self) -> int:
        total = await self.session.scalar(select(func.coalesce(func.sum(EntryRow.amount_rial), 0)))
        return int(total or 0)

    async def derived_balances(self) -> dict[AccountId, int]:
        result = await self.session.execute(
            select(EntryRow.account_id, func.sum(EntryRow.amount_rial)).group_by(
                EntryRow.account_id
            )
        )
        return {AccountId(account_id): int(total) for account_id, total in result.all()}

    async def unbalanced_transactions(self) -> list[TransactionId]:
        sums = (
            select(EntryRow.transaction_id)
            .group_by(EntryRow.transaction_id)
            .having(or_(func.sum(EntryRow.amount_rial) != 0, func.count() < 2))
        )
        empty = select(TransactionRow.id).where(
            ~exists().where(EntryRow.transaction_id == TransactionRow.id)
        )
        found = list(await self.session.scalars(sums)) + list(await self.session.scalars(empty))
        return sorted(TransactionId(t) for t in found)

    async def cached_balance_mismatches(self) -> list[AccountId]:
        derived = (
            select(func.coalesce(func.sum(EntryRow.amount_rial), 0))
            .where(EntryRow.account_id == AccountRow.id)
            .scalar_subquery()
        )
        rows = await self.session.scalars(
            select(AccountRow.id)
            .where(AccountRow.balance_rial.is_not(None), AccountRow.balance_rial != derived)
            .order_by(AccountRow.id)
        )
        return [AccountId(account_id) for account_id in rows]

    async def transactions_without_paid_payment(self) -> list[TransactionId]:
        paid = exists().where(
            OrderRow.id == TransactionRow.payment_id,
            OrderRow.status.in_([s.value for s in PAID_STATUSES]),
        )
        rows = await self.session.scalars(
            select(TransactionRow.id)
            .where(
                TransactionRow.kind.in_(
                    [TransactionKind.payment.value, TransactionKind.top_up.value]
                ),
                ~paid,
            )
            .order_by(TransactionRow.id)
        )
        return [TransactionId(t) for t in rows]
