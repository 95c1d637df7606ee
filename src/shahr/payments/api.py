"""Payments' JSON API: the wallet, top-ups, payments and receipts, reconciliation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError, NotFoundError, NotSignedInError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.settings import Settings
from shahr.kernel.web.deps import BusDep, ClockDep, DatabaseDep, SettingsDep, container_of
from shahr.payments import queries, services
from shahr.payments.domain import (
    DEMO_WALLET_RIAL,
    AmountMismatchError,
    ForgedCallbackError,
    InvalidAmountError,
    InvalidPaymentRequestError,
    LedgerImbalanceError,
    PspRefusedError,
    PspTimeoutError,
    PspUnavailableError,
    UnknownCallbackError,
)
from shahr.payments.gateways import PSP, BankPageError, PaymentGateway
from shahr.payments.schemas import (
    PaymentOut,
    PaymentStartOut,
    ReceiptOut,
    ReconciliationOut,
    TopUpCreate,
    WalletOut,
)

ERROR_STATUS: dict[type[DomainError], int] = {
    InvalidAmountError: 422,
    InvalidPaymentRequestError: 422,
    BankPageError: 422,
    ForgedCallbackError: 400,
    UnknownCallbackError: 400,
    AmountMismatchError: 400,
    PspRefusedError: 502,
    PspUnavailableError: 503,
    PspTimeoutError: 504,
    LedgerImbalanceError: 500,
}

CitizenPrincipal = Annotated[Principal | None, Depends(Admits(Role.citizen))]

router = APIRouter(prefix="/api/v1/payments", tags=["payments"])


def _psp(request: Request) -> PaymentGateway:
    psp = container_of(request).find(PSP)
    if psp is None:
        raise NotFoundError("No payment gateway is configured.")
    return psp


PspDep = Annotated[PaymentGateway, Depends(_psp)]


def citizen_id(principal: Principal | None) -> str:
    """The signed-in citizen's id (the guard has already refused everyone else)."""
    if principal is None:
        raise NotSignedInError("Please sign in first.")
    return principal.id


def demo_wallet_rial(settings: Settings) -> int:
    """In demo mode every wallet starts with a demo balance, credited at its first use."""
    return DEMO_WALLET_RIAL if settings.demo else 0


@router.get("/wallet", response_model=WalletOut)
async def get_wallet(
    principal: CitizenPrincipal, database: DatabaseDep, clock: ClockDep, settings: SettingsDep
) -> WalletOut:
    """The citizen's wallet: balance (derived from the ledger) and newest movements."""
    statement = await services.wallet_statement(
        database,
        clock,
        citizen_id=citizen_id(principal),
        demo_wallet_rial=demo_wallet_rial(settings),
    )
    return WalletOut.of(statement)


@router.post("/wallet/top-up", status_code=201, response_model=PaymentStartOut)
async def top_up(
    body: TopUpCreate,
    principal: CitizenPrincipal,
    database: DatabaseDep,
    clock: ClockDep,
    psp: PspDep,
    bus: BusDep,
) -> PaymentStartOut:
    """Start a card payment that tops the wallet up; send the citizen to `redirect_url`."""
    start = await services.top_up_wallet(
        database,
        clock,
        psp,
        bus,
        citizen_id=citizen_id(principal),
        amount_rial=body.amount_rial,
    )
    return PaymentStartOut.of(start)


@router.get(
    "/reconciliation/latest",
    response_model=ReconciliationOut,
    dependencies=[Depends(Admits(Role.admin, Role.parking_operator))],
    responses={404: {"description": "No reconciliation has run yet"}},
)
async def latest_reconciliation(database: DatabaseDep) -> ReconciliationOut:
    """The newest reconciliation report."""
    report = await queries.latest_reconciliation(database)
    if report is None:
        raise NotFoundError("No reconciliation has run yet.")
    return ReconciliationOut.of(report)


@router.post(
    "/reconciliation",
    response_model=ReconciliationOut,
    dependencies=[Depends(Admits(Role.admin))],
)
async def run_reconciliation(
    database: DatabaseDep, clock: ClockDep, psp: PspDep, bus: BusDep
) -> ReconciliationOut:
    """Reconcile now (the worker also does so every minute) and answer the report."""
    report = await services.reconcile(database, clock, psp, bus)
    return ReconciliationOut.of(services.report_as_dict(report))


@router.get("/{payment_id}", response_model=PaymentOut)
async def get_payment(
    payment_id: str, principal: CitizenPrincipal, database: DatabaseDep
) -> PaymentOut:
    """One of the citizen's payments and where it stands."""
    order = await queries.payment(database, payment_id=payment_id, citizen_id=citizen_id(principal))
    return PaymentOut.of(order)


@router.get("/{payment_id}/receipt", response_model=ReceiptOut)
async def get_receipt(
    payment_id: str, principal: CitizenPrincipal, database: DatabaseDep
) -> ReceiptOut:
    """The receipt of a paid payment, with the Jalali date and time in the user's language."""
    receipt = await queries.receipt(
        database, payment_id=payment_id, citizen_id=citizen_id(principal)
    )
    return ReceiptOut.of(receipt)
