"""Payments' pages: the wallet, receipts, and the sandbox bank's pages (the PSP's callback is
`callback_pages`)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from shahr.kernel.access import Admits
from shahr.kernel.errors import DomainError, NotFoundError
from shahr.kernel.money import format_toman
from shahr.kernel.persian import ascii_digits, persian_digits
from shahr.kernel.principals import Role
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import (
    BusDep,
    ClockDep,
    DatabaseDep,
    SettingsDep,
    TemplatesDep,
    container_of,
)
from shahr.payments import callback_pages, queries, services, staff_pages
from shahr.payments.api import ERROR_STATUS, CitizenPrincipal, PspDep, citizen_id, demo_wallet_rial
from shahr.payments.domain import (
    MAX_PAYMENT_RIAL,
    MIN_PSP_AMOUNT_RIAL,
    InvalidAmountError,
    PaymentNotFoundError,
    PaymentStatus,
    PspUnavailableError,
    invalid_amount,
)
from shahr.payments.gateways import (
    PSP,
    BankPageError,
    SandboxPsp,
    SandboxScenario,
    SandboxStatus,
    SandboxTransaction,
)

log = logging.getLogger(__name__)

PUBLIC = Depends(Admits(public=True))
# Suggested top-ups on the wallet page, in Rial (shown in Toman, as every amount is).
TOP_UP_CHOICES = (500_000, 1_000_000, 2_000_000)
SAMPLE_CARD = "6037 9900 0000 0006"
# Inside Persian text the four groups would run right to left; an isolate keeps their order.
LEFT_TO_RIGHT_ISOLATE, POP_ISOLATE = "\u2066", "\u2069"
NO_BREAK_SPACE = "\u00a0"

router = APIRouter(tags=["payments pages"])
router.include_router(staff_pages.router)
router.include_router(callback_pages.router)


def _sandbox(request: Request) -> SandboxPsp:
    psp = container_of(request).find(PSP)
    if not isinstance(psp, SandboxPsp):
        raise NotFoundError("Nothing was found at this address.")
    return psp


SandboxDep = Annotated[SandboxPsp, Depends(_sandbox)]
# The switches take the test bank down for everyone: the admin's, like the staff tool listing
# it. Where no sandbox is wired the desk is not there, for anyone: that is answered first.
BANK_DESK = [Depends(_sandbox), Depends(Admits(Role.admin))]


def _parse_rial(text: str) -> int:
    """`۱٬۰۰۰٬۰۰۰`, `1,000,000` or `1000000` as an integer; anything else is refused."""
    cleaned = "".join(c for c in ascii_digits(text) if c not in " ,\u066c_")
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 12:
        raise invalid_amount()
    return int(cleaned)


def _in_page_digits(text: str) -> str:
    return persian_digits(text) if i18n.current_language.get() == "fa" else text


def _top_up_rial(amount_rial: str | None, amount_toman: str | None) -> int:
    """The top-up asked for: a suggested button's Rial value, or the Toman the citizen typed."""
    if amount_toman is not None:
        return _parse_rial(amount_toman) * 10
    return _parse_rial(amount_rial or "")


def _in_toman(error: DomainError) -> DomainError:
    """The wallet page speaks Toman: an amount refused is explained in Toman, not Rial."""
    if not isinstance(error, InvalidAmountError):
        return error
    return InvalidAmountError(
        "Type a whole number of Toman, from {minimum} to {maximum}.",
        field="amount_toman",
        minimum=format_toman(MIN_PSP_AMOUNT_RIAL, i18n.current_language.get()),
        maximum=format_toman(MAX_PAYMENT_RIAL, i18n.current_language.get()),
    )


def _status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400


# --- the wallet and receipts ---


@router.get("/wallet", include_in_schema=False)
async def wallet_page(
    request: Request,
    principal: CitizenPrincipal,
    database: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    payment_id: str | None = None,
) -> Response:
    """The wallet: balance, a top-up form, history, and how the last payment went."""
    return await _render_wallet(
        request, principal, database, clock, settings, templates, payment_id=payment_id
    )


async def _render_wallet(
    request: Request,
    principal: CitizenPrincipal,
    database: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    *,
    payment_id: str | None = None,
    error: DomainError | None = None,
    amount: str = "",
) -> Response:
    owner = citizen_id(principal)
    statement = await services.wallet_statement(
        database, clock, citizen_id=owner, demo_wallet_rial=demo_wallet_rial(settings)
    )
    last_payment = None
    if payment_id:
        try:
            last_payment = await queries.payment(database, payment_id=payment_id, citizen_id=owner)
        except PaymentNotFoundError:
            last_payment = None
    context = {
        "statement": statement,
        "last_payment": last_payment,
        "error": error,
        "amount": amount,
        "choices": TOP_UP_CHOICES,
        "minimum": MIN_PSP_AMOUNT_RIAL,
        "demo": settings.demo,
        "demo_balance": demo_wallet_rial(settings),
        "PaymentStatus": PaymentStatus,
    }
    status = 200 if error is None else _status_of(error)
    return templates.render(request, "payments/wallet.html", context, status_code=status)


@router.post("/wallet/top-up", include_in_schema=False)
async def wallet_top_up(
    request: Request,
    principal: CitizenPrincipal,
    database: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    psp: PspDep,
    bus: BusDep,
    amount_rial: Annotated[str | None, Form(max_length=40)] = None,
    amount_toman: Annotated[str | None, Form(max_length=40)] = None,
) -> Response:
    """Start a card top-up and send the citizen to the bank's page."""
    try:
        start = await services.top_up_wallet(
            database,
            clock,
            psp,
            bus,
            citizen_id=citizen_id(principal),
            amount_rial=_top_up_rial(amount_rial, amount_toman),
        )
    except DomainError as error:
        return await _render_wallet(
            request, principal, database, clock, settings, templates, error=_in_toman(error),
            amount=amount_toman or "",
        )  # fmt: skip
    return RedirectResponse(start.redirect_url or "/wallet", status_code=303)


@router.get("/payments/{payment_id}/receipt", include_in_schema=False)
async def receipt_page(
    payment_id: str,
    request: Request,
    principal: CitizenPrincipal,
    database: DatabaseDep,
    templates: TemplatesDep,
) -> Response:
    """The receipt: Toman and the exact Rial, the Jalali date and time, references, card."""
    receipt = await queries.receipt(
        database, payment_id=payment_id, citizen_id=citizen_id(principal)
    )
    return templates.render(request, "payments/receipt.html", {"receipt": receipt})


@router.get("/payments/{payment_id}/return", include_in_schema=False)
async def back_from_the_bank(
    payment_id: str, principal: CitizenPrincipal, database: DatabaseDep
) -> Response:
    """Where the bank's "back to the merchant" leads when its answer never came: the page of
    what the payment was for, which says where the payment stands."""
    order = await queries.payment(database, payment_id=payment_id, citizen_id=citizen_id(principal))
    return RedirectResponse(order.return_url, status_code=303)


# --- the sandbox bank ---


@router.get("/sandbox-psp", dependencies=BANK_DESK, include_in_schema=False)
async def sandbox_console(
    request: Request, sandbox: SandboxDep, templates: TemplatesDep
) -> Response:
    """The sandbox bank's desk: the switch that takes it down, and its latest payments."""
    context = {"down": await sandbox.is_down(), "transactions": await sandbox.recent()}
    return templates.render(request, "payments/sandbox_console.html", context)


@router.post("/sandbox-psp/switches", dependencies=BANK_DESK, include_in_schema=False)
async def sandbox_switches(
    sandbox: SandboxDep,
    settings: SettingsDep,
    down: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Take the sandbox PSP down or bring it back (never in production)."""
    if settings.environment == "production":
        raise NotFoundError("Nothing was found at this address.")
    await sandbox.set_down(down == "on")
    return RedirectResponse("/sandbox-psp", status_code=303)


@router.get("/sandbox-psp/pay/{token}", dependencies=[PUBLIC], include_in_schema=False)
async def sandbox_pay_page(
    token: str, request: Request, sandbox: SandboxDep, templates: TemplatesDep
) -> Response:
    """The bank's payment page: card details, Pay or Cancel, and the simulation switches."""
    transaction = await sandbox.transaction(token)
    if transaction is None:
        raise NotFoundError("This payment page does not exist.")
    return _render_bank_page(request, templates, sandbox, transaction.token, transaction)


def _render_bank_page(
    request: Request,
    templates: TemplatesDep,
    sandbox: SandboxPsp,
    token: str,
    transaction: SandboxTransaction,
    *,
    error: DomainError | None = None,
    scenario: str = SandboxScenario.normal.value,
) -> Response:
    context = {
        "transaction": transaction,
        "token": token,
        "error": error,
        "scenario": scenario,
        "scenarios": list(SandboxScenario),
        "pending": transaction.status is SandboxStatus.pending,
        # Persian digits on the Persian page (the card fields accept them as typed), and
        # no-break spaces so that a phone never wraps the number between its groups.
        "sample_card": LEFT_TO_RIGHT_ISOLATE
        + _in_page_digits(SAMPLE_CARD).replace(" ", NO_BREAK_SPACE)
        + POP_ISOLATE,
        "merchant_name": sandbox.merchant_name,
    }
    status = 200 if error is None else _status_of(error)
    return templates.render(request, "payments/sandbox_pay.html", context, status_code=status)


@router.post("/sandbox-psp/pay/{token}", dependencies=[PUBLIC], include_in_schema=False)
async def sandbox_pay(
    token: str,
    request: Request,
    database: DatabaseDep,
    clock: ClockDep,
    bus: BusDep,
    sandbox: SandboxDep,
    templates: TemplatesDep,
    action: Annotated[str, Form(max_length=10)],
    card_number: Annotated[str, Form(max_length=40)] = "",
    cvv2: Annotated[str, Form(max_length=10)] = "",
    expiry_month: Annotated[str, Form(max_length=4)] = "",
    expiry_year: Annotated[str, Form(max_length=4)] = "",
    pin: Annotated[str, Form(max_length=20)] = "",
    scenario: Annotated[str, Form(max_length=30)] = SandboxScenario.normal.value,
) -> Response:
    """Pay or Cancel on the bank's page; the bank then sends the citizen to the callback."""
    transaction = await sandbox.transaction(token)
    if transaction is None:
        raise NotFoundError("This payment page does not exist.")
    try:
        if action == "cancel":
            answer = await sandbox.cancel(token)
        else:
            answer = await sandbox.pay(
                token,
                card_number=card_number,
                cvv2=cvv2,
                expiry_month=expiry_month,
                expiry_year=expiry_year,
                pin=pin,
                scenario=SandboxScenario(scenario)
                if scenario in set(SandboxScenario)
                else SandboxScenario.normal,
            )
    except (BankPageError, PspUnavailableError) as error:
        return _render_bank_page(
            request, templates, sandbox, token, transaction, error=error, scenario=scenario
        )
    if answer.deliver_twice:
        # The bank also tells the merchant server to server, before the browser arrives.
        try:
            await services.handle_callback(
                database, clock, sandbox, bus, params=answer.callback_params
            )
        except DomainError as error:
            log.warning("sandbox: server-to-server callback refused: %s", type(error).__name__)
    if answer.callback_url is None:
        context = {"transaction": answer.transaction}
        return templates.render(request, "payments/sandbox_lost.html", context)
    return RedirectResponse(answer.callback_url, status_code=303)
