"""A payment in doubt, in every way the sandbox bank can answer, through the pages.

The citizen books a bay by card, pays at the sandbox bank's page in one of its scenarios
and comes back; then the reservation page, the staff's reconciliation view and the ledger
must agree: paid if and only if the ledger booked the payment, "checking with the bank"
(with no second payment offered) while the bank has not answered, and the same again once
reconciliation has caught up.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi import Request
from sqlalchemy import text

from payments.flows import sandbox_psp
from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock, in_tehran
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.parking import queries
from shahr.parking.domain import Reservation, ReservationStatus
from shahr.parking.services import PARKING, ParkingPorts, run_upkeep
from shahr.payments import services as payments_services
from shahr.payments.domain import PAYMENT_WINDOW
from shahr.payments.gateways import SandboxScenario
from shahr.web import create_app

from .flows import CITIZEN, seeded_ports
from .test_pages import CARD_FORM, CSRF, listing, quote_page, reserve

STAFF = "staff-parking-1"

# Every way the sandbox bank can answer (its scenarios), plus its Cancel button and the bank
# going down between the payment and its verification: what the citizen then sees, and
# what the same pages say once reconciliation has run past the bank's deadline.
OUTCOMES: dict[str, tuple[str, str]] = {
    SandboxScenario.normal: ("confirmed", "confirmed"),
    SandboxScenario.decline: ("failed", "failed"),
    SandboxScenario.timeout: ("in_doubt", "returned"),
    SandboxScenario.duplicate_callback: ("confirmed", "confirmed"),
    SandboxScenario.no_callback: ("in_doubt", "returned"),
    "cancel": ("failed", "failed"),
    "down_at_verification": ("in_doubt", "confirmed"),
}


def test_every_sandbox_scenario_is_driven() -> None:
    assert {str(s) for s in SandboxScenario} <= set(OUTCOMES)


def app_for(container: Container, parking: ParkingPorts) -> httpx.AsyncClient:
    """The app, whose caller is a citizen (`x-test-citizen`) or a parking operator
    (`x-test-staff`)."""
    app = create_app(container)

    async def resolve(request: Request) -> Principal | None:
        if staff := request.headers.get("x-test-staff"):
            return Principal(
                id=staff, kind="staff", display_name="Reza",
                roles=frozenset({Role.parking_operator}),
            )  # fmt: skip
        if citizen := request.headers.get("x-test-citizen"):
            return Principal(
                id=citizen, kind="citizen", display_name="Sara", roles=frozenset({Role.citizen})
            )
        return None

    container.resolve_principal = resolve
    container.provide(PARKING, parking, replace=True)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://testserver",
        headers={"x-csrf-token": CSRF},
    )
    client.cookies.set(CSRF_COOKIE, CSRF)
    return client


@pytest.fixture
async def parking(container: Container) -> ParkingPorts:
    """The test meters with the real payments area and its sandbox bank."""
    return await seeded_ports(
        container, payments=container.get(PARKING).payments, vehicles=listing()
    )


@pytest.fixture
async def http(container: Container, parking: ParkingPorts) -> AsyncIterator[httpx.AsyncClient]:
    async with app_for(container, parking) as client:
        yield client


AS_CITIZEN = {"x-test-citizen": CITIZEN}
AS_STAFF = {"x-test-staff": STAFF}


@dataclass(frozen=True)
class Seen:
    """What the citizen's page, the staff's view and the ledger say of one payment."""

    citizen_standing: str
    citizen_label: str
    staff_standing: str
    staff_label: str
    booked_in_ledger: bool
    checking_notice: bool
    pay_form: bool


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def seen(
    http: httpx.AsyncClient, container: Container, reservation_id: str, payment_id: str
) -> Seen:
    page = (await http.get(f"/parking/reservations/{reservation_id}", headers=AS_CITIZEN)).text
    line = re.search(
        rf'data-payment-id="{payment_id}" data-standing="(\w+)">(.*?)</li>', page, re.S
    )
    label = re.search(
        r'<span class="payment-standing">([^<]*)</span>', line.group(2) if line else ""
    )
    staff = (await http.get("/staff/payments", headers=AS_STAFF)).text
    row = re.search(
        rf'data-payment-id="{payment_id}" data-standing="(\w+)">(.*?)</tr>', staff, re.S
    )
    assert line is not None
    assert label is not None
    assert row is not None
    staff_label = re.search(r'<span class="standing">([^<]*)</span>', row.group(2))
    assert staff_label is not None
    async with container.database.session() as session:
        booked = await session.scalar(
            text("SELECT count(*) FROM payments_transaction WHERE payment_id = :id"),
            {"id": payment_id},
        )
    return Seen(
        citizen_standing=line.group(1),
        citizen_label=_text(label.group(1)),
        staff_standing=row.group(1),
        staff_label=_text(staff_label.group(1)),
        booked_in_ledger=booked == 1,
        checking_notice='class="notice warning in-doubt"' in page,
        pay_form=f'action="/parking/reservations/{reservation_id}/pay"' in page,
    )


def assert_agree(view: Seen, standing: str) -> None:
    assert (view.citizen_standing, view.staff_standing) == (standing, standing)
    assert view.citizen_label == view.staff_label
    assert view.booked_in_ledger is (standing == "confirmed")
    assert view.checking_notice is (standing == "in_doubt")
    if standing == "in_doubt":
        assert not view.pay_form


async def pay_at_the_bank(
    http: httpx.AsyncClient, container: Container, bank_page: str, how: str
) -> None:
    """Pay (or cancel) on the bank's page and follow the citizen back to the merchant."""
    if how == "cancel":
        answer = await http.post(bank_page, data={"csrf_token": CSRF, "action": "cancel"})
    else:
        scenario = SandboxScenario.normal if how == "down_at_verification" else how
        answer = await http.post(bank_page, data={**CARD_FORM, "scenario": scenario})
    if how == SandboxScenario.no_callback:
        assert answer.status_code == 200
        back = re.search(r'href="(/payments/[^"]+/return)"', answer.text)
        assert back is not None, "the bank's page leads back to the merchant"
        returned = await http.get(back.group(1), headers=AS_CITIZEN)
        assert returned.status_code == 303
        return
    assert answer.status_code == 303
    if how == "down_at_verification":
        await sandbox_psp(container).set_down(True)
    callback = await http.get(answer.headers["location"], headers=AS_CITIZEN)
    assert callback.status_code == 303
    if how == "down_at_verification":
        await sandbox_psp(container).set_down(False)


async def catch_up(container: Container, parking: ParkingPorts, clock: FixedClock) -> None:
    """Reconciliation a minute later (its job's period), and again once the bank's deadline
    has passed, each followed by parking's upkeep."""
    for wait in (timedelta(minutes=1), PAYMENT_WINDOW):
        clock.advance(wait)
        await payments_services.reconcile(
            container.database, clock, sandbox_psp(container), container.bus
        )
        await container.bus.drain()
        await run_upkeep(parking)
        await container.bus.drain()


@pytest.mark.parametrize("how", list(OUTCOMES))
async def test_the_reservation_page_the_staff_view_and_the_ledger_agree_in_every_bank_scenario(
    how: str,
    http: httpx.AsyncClient,
    container: Container,
    parking: ParkingPorts,
    clock: FixedClock,
) -> None:
    http.headers.update(AS_CITIZEN)
    started = await reserve(http, await quote_page(http, parking), method="psp")
    bank_page = started.headers["location"]
    [reservation] = await reservation_of(parking, CITIZEN)
    payment_id = await only_payment_id(container, reservation.id)

    await pay_at_the_bank(http, container, bank_page, how)
    await container.bus.drain()
    first, after = OUTCOMES[how]
    assert_agree(await seen(http, container, reservation.id, payment_id), first)

    await catch_up(container, parking, clock)
    assert_agree(await seen(http, container, reservation.id, payment_id), after)
    [reservation] = await reservation_of(parking, CITIZEN)
    assert (reservation.status is ReservationStatus.confirmed) is (after == "confirmed")


async def reservation_of(parking: ParkingPorts, citizen: str) -> list[Reservation]:
    found = await queries.reservations_of(parking.database, parking.inventory, citizen_id=citizen)
    return [summary.reservation for summary in found]


async def only_payment_id(container: Container, reservation_id: str) -> str:
    async with container.database.session() as session:
        ids = list(
            await session.scalars(
                text("SELECT id FROM payments_order WHERE reference = :r"), {"r": reservation_id}
            )
        )
    assert len(ids) == 1
    return str(ids[0])


async def test_a_payment_in_doubt_says_checking_with_the_bank_and_when_it_is_decided(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    http.headers.update(AS_CITIZEN)
    started = await reserve(http, await quote_page(http, parking), method="psp")
    await pay_at_the_bank(http, container, started.headers["location"], SandboxScenario.timeout)
    [reservation] = await reservation_of(parking, CITIZEN)

    page = _text((await http.get(f"/parking/reservations/{reservation.id}")).text)
    http.cookies.set(LANGUAGE_COOKIE, "en")
    english = _text((await http.get(f"/parking/reservations/{reservation.id}")).text)

    assert "در حال استعلام از بانک" in page
    assert "اگر تا ساعت ۱۰:۱۵ تأیید کند" in page
    assert "بانک ظرف ۷۲ ساعت آن را برمی‌گرداند" in page
    assert "If it confirms it by 10:15, it counts as paid" in english
    assert "the bank returns the money within 72 hours" in english
    for never in ("Nothing was charged", "Nothing was deducted", "هیچ مبلغی کسر نشد"):
        assert never not in page
        assert never not in english


async def test_a_second_payment_for_a_reservation_in_doubt_is_refused_and_starts_nothing(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    http.headers.update(AS_CITIZEN)
    started = await reserve(http, await quote_page(http, parking), method="psp")
    await pay_at_the_bank(http, container, started.headers["location"], SandboxScenario.timeout)
    [reservation] = await reservation_of(parking, CITIZEN)

    for method in ("psp", "wallet"):
        refused = await http.post(
            f"/parking/reservations/{reservation.id}/pay",
            data={"csrf_token": CSRF, "method": method},
        )
        assert refused.status_code == 409
        assert "نمی‌توانید دوباره پرداخت کنید" in refused.text
        assert "۱۰:۱۵" in refused.text
    cancel = await http.post(
        f"/parking/reservations/{reservation.id}/cancel",
        data={"csrf_token": CSRF, "back": "reservation"},
    )
    assert cancel.status_code == 409
    assert "این رزرو فعلاً لغو نمی‌شود" in cancel.text

    await only_payment_id(container, reservation.id)
    [still] = await reservation_of(parking, CITIZEN)
    assert still.status is ReservationStatus.pending


async def test_the_bank_page_names_the_same_deadline_as_the_hold(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    http.headers.update(AS_CITIZEN)
    started = await reserve(http, await quote_page(http, parking), method="psp")
    [reservation] = await reservation_of(parking, CITIZEN)
    token = started.headers["location"].rsplit("/", 1)[1]
    bank = await sandbox_psp(container).transaction(token)

    assert bank is not None
    assert reservation.hold_expires_at is not None
    assert bank.expires_at == reservation.hold_expires_at
    shown = in_tehran(reservation.hold_expires_at).strftime("%H:%M")
    persian = shown.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    bank_page = (await http.get(started.headers["location"])).text
    our_page = (await http.get(f"/parking/reservations/{reservation.id}")).text
    assert persian in bank_page
    assert persian in our_page


async def test_the_reconciliation_view_is_for_parking_operators_and_admins_only(
    http: httpx.AsyncClient,
) -> None:
    assert (await http.get("/staff/payments", headers=AS_CITIZEN)).status_code == 403
    assert (await http.get("/staff/payments", headers=AS_STAFF)).status_code == 200
    only_in_doubt = await http.get("/staff/payments?standing=in_doubt", headers=AS_STAFF)
    assert 'aria-current="page">در حال استعلام از بانک' in only_in_doubt.text


async def test_a_payment_left_unfinished_at_the_bank_can_be_let_go_and_paid_again(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    http.headers.update(AS_CITIZEN)
    started = await reserve(http, await quote_page(http, parking), method="psp")
    bank_page = started.headers["location"]
    [reservation] = await reservation_of(parking, CITIZEN)
    first = await only_payment_id(container, reservation.id)
    page = (await http.get(f"/parking/reservations/{reservation.id}")).text
    assert 'class="notice warning in-doubt"' in page
    assert f'action="/parking/reservations/{reservation.id}/give-up-payment"' in page

    let_go = await http.post(
        f"/parking/reservations/{reservation.id}/give-up-payment", data={"csrf_token": CSRF}
    )

    assert let_go.status_code == 303
    after = await seen(http, container, reservation.id, first)
    assert_agree(after, "failed")
    assert after.pay_form
    assert "پرداخت نیمه‌تمام رها شد" in (await http.get(let_go.headers["location"])).text
    late = await http.post(bank_page, data=CARD_FORM)
    assert "مهلت این صفحهٔ پرداخت تمام شده است." in late.text
    again = await http.post(
        f"/parking/reservations/{reservation.id}/pay", data={"csrf_token": CSRF, "method": "psp"}
    )
    assert again.status_code == 303
    assert again.headers["location"].startswith("/sandbox-psp/pay/")


async def test_a_payment_the_bank_took_without_calling_back_is_returned_when_let_go(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    http.headers.update(AS_CITIZEN)
    started = await reserve(http, await quote_page(http, parking), method="psp")
    await pay_at_the_bank(http, container, started.headers["location"], "no_callback")
    [reservation] = await reservation_of(parking, CITIZEN)

    await http.post(
        f"/parking/reservations/{reservation.id}/give-up-payment", data={"csrf_token": CSRF}
    )

    payment_id = await only_payment_id(container, reservation.id)
    assert_agree(await seen(http, container, reservation.id, payment_id), "returned")


async def test_a_payment_the_bank_has_answered_for_cannot_be_let_go(
    http: httpx.AsyncClient, container: Container, parking: ParkingPorts
) -> None:
    http.headers.update(AS_CITIZEN)
    started = await reserve(http, await quote_page(http, parking), method="psp")
    await pay_at_the_bank(http, container, started.headers["location"], "timeout")
    [reservation] = await reservation_of(parking, CITIZEN)
    page = (await http.get(f"/parking/reservations/{reservation.id}")).text
    assert "give-up-payment" not in page

    refused = await http.post(
        f"/parking/reservations/{reservation.id}/give-up-payment", data={"csrf_token": CSRF}
    )

    assert refused.status_code == 409
    assert "بانک دربارهٔ این پرداخت پاسخ داده است" in refused.text
    payment_id = await only_payment_id(container, reservation.id)
    assert_agree(await seen(http, container, reservation.id, payment_id), "in_doubt")
