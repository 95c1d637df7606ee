"""A vehicle's disability permit: sent from the account page with a photo, reviewed by staff,
and passed on to parking; every bad input refused beside its box, with nothing written."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import date

import httpx
import pytest
from sqlalchemy import text

from shahr.bootstrap import Container
from shahr.bridges import VehiclesFromIdentity
from shahr.identity import queries
from shahr.identity.domain import PHOTO_MAX_BYTES, PermitState
from shahr.identity.gateways import ConsoleSms
from shahr.identity.services import ensure_staff_account
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.web import create_app

from .flows import bearer, csrf_headers, row_counts
from .test_pages import field_error, post_form, sign_in_by_page

PASSWORD = "a long demo password"
REVIEW = "/staff/parking/permits"


def png() -> bytes:
    """A real 1×1 PNG: signature, IHDR, IDAT and IEND chunks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
async def citizen_client(client: httpx.AsyncClient, sms: ConsoleSms) -> httpx.AsyncClient:
    assert (await sign_in_by_page(client, sms)).status_code == 303
    return client


async def add_car(client: httpx.AsyncClient, **boxes: str) -> str:
    """Add a car in the plate's boxes; its vehicle id, read back from the account page."""
    fields = {"plate_first": "۱۲", "plate_letter": "B", "plate_middle": "۳۴۵", "plate_region": "۶۷"}
    response = await post_form(client, "/account/vehicles", kind="car", **(fields | boxes))
    assert response.status_code == 303, response.text
    page = (await client.get("/account")).text
    found = re.search(r'action="/account/vehicles/([^/"]+)/permit"', page)
    assert found is not None
    return found.group(1)


async def send_permit(
    client: httpx.AsyncClient,
    vehicle_id: str,
    *,
    photo: bytes | None = None,
    name: str = "permit.png",
    number: str = "ک-۱۲۳۴۵",
    expires_on: str = "۱۴۰۶/۰۱/۱۵",
) -> httpx.Response:
    return await client.post(
        f"/account/vehicles/{vehicle_id}/permit",
        data={
            "csrf_token": client.cookies[CSRF_COOKIE],
            "permit_number": number,
            "permit_expires_on": expires_on,
        },
        files={"permit_photo": (name, png() if photo is None else photo, "image/png")},
    )


async def staff_token(client: httpx.AsyncClient, container: Container, role: Role) -> str:
    await ensure_staff_account(
        container.database,
        username=f"{role.value}.reviewer",
        password=PASSWORD,
        display_name="Reviewer",
        roles=frozenset({role}),
    )
    response = await client.post(
        "/api/v1/identity/staff/sign-in",
        json={"username": f"{role.value}.reviewer", "password": PASSWORD},
        headers=await csrf_headers(client),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


# --- the plate-shaped input on the account page ---------------------------------------------


async def test_the_account_page_offers_the_plate_shaped_input_with_the_letters_in_use(
    citizen_client: httpx.AsyncClient,
) -> None:
    page = (await citizen_client.get("/account")).text

    assert 'name="plate_first"' in page
    assert '<option value="B">ب</option>' in page
    assert '<option value="Taxi">ت</option>' in page
    assert 'name="plate_top"' in page  # a motorcycle's boxes
    assert "/static/shell/plate-input.js" in page

    citizen_client.cookies.set(LANGUAGE_COOKIE, "en")
    english = (await citizen_client.get("/account")).text
    assert '<option value="B">B (ب)</option>' in english
    assert "Plate: the two digits on the left" in english


async def test_a_plate_typed_with_persian_and_arabic_digits_and_an_arabic_letter_is_saved_canonical(
    citizen_client: httpx.AsyncClient, container: Container
) -> None:
    await add_car(
        citizen_client, plate_first="١٢", plate_letter="ي", plate_middle="۳۴۵", plate_region="67"
    )

    vehicles = await queries.vehicles_of(container.database, citizen_id=await _citizen(container))
    assert [v.plate for v in vehicles] == ["12Y345-67"]


@pytest.mark.parametrize(
    ("kind", "boxes", "field", "message"),
    [
        (
            "car",
            {"plate_first": "1a", "plate_letter": "B", "plate_middle": "345", "plate_region": "67"},
            "first",
            "در این بخش پلاک فقط رقم نوشته می‌شود.",
        ),
        (
            "car",
            {"plate_first": "12", "plate_letter": "", "plate_middle": "345", "plate_region": "67"},
            "letter",
            "حرف پلاک را انتخاب کنید.",
        ),
        (
            "car",
            {"plate_first": "12", "plate_letter": "B", "plate_middle": "3456", "plate_region": "6"},
            "middle",
            "بعد از حرف پلاک سه رقم می‌آید؛ ۴ رقم وارد شده است.",
        ),
        (
            "motorcycle",
            {"plate_first": "12", "plate_letter": "B", "plate_middle": "345", "plate_region": "67"},
            "plate",
            "پلاک موتورسیکلت حرف ندارد: یک کد سه‌رقمی و یک شمارهٔ پنج‌رقمی است.",
        ),
        (
            "car",
            {"plate_top": "123", "plate_number": "45678"},
            "plate",
            "این پلاک موتورسیکلت است؛ پلاک سواری، وانت، کامیونت و مینی‌بوس حرف دارد.",
        ),
        ("motorcycle", {"plate_top": "123", "plate_number": "4567x"}, "number", None),
    ],
)
async def test_a_plate_of_the_wrong_shape_or_kind_is_refused_beside_its_box_and_nothing_is_saved(
    citizen_client: httpx.AsyncClient,
    container: Container,
    kind: str,
    boxes: dict[str, str],
    field: str,
    message: str | None,
) -> None:
    before = await row_counts(container)

    response = await post_form(citizen_client, "/account/vehicles", kind=kind, **boxes)

    assert response.status_code == 400
    shown = field_error(response.text, field)
    assert message is None or shown == message
    assert await row_counts(container) == before


async def test_a_motorcycle_is_added_with_its_own_plate_and_shown_as_one(
    citizen_client: httpx.AsyncClient,
) -> None:
    response = await post_form(
        citizen_client,
        "/account/vehicles",
        kind="motorcycle",
        plate_top="۱۲۳",
        plate_number="۴۵۶۷۸",
    )

    assert response.status_code == 303
    page = (await citizen_client.get("/account")).text
    assert 'data-plate="123-45678"' in page
    assert 'aria-label="ایران ۱۲۳ ۴۵۶۷۸"' in page
    # A motorcycle takes no disabled bay, so it is offered no permit.
    item = page.split('data-plate="123-45678"', 1)[1].split("</li>", 1)[0]
    assert "/permit" not in item


# --- the permit: sent, refused, reviewed ----------------------------------------------------


async def test_a_permit_with_a_jalali_expiry_is_sent_for_review_and_shown_waiting(
    citizen_client: httpx.AsyncClient, container: Container
) -> None:
    vehicle_id = await add_car(citizen_client)

    response = await send_permit(citizen_client, vehicle_id)

    assert response.status_code == 303
    permits = await queries.permits_of(container.database, citizen_id=await _citizen(container))
    permit = permits[vehicle_id]
    assert permit.expires_on == date(2027, 4, 4)  # 15 Farvardin 1406
    assert permit.number == "ک-12345"
    assert permit.photo_type == "image/png"
    page = (await citizen_client.get("/account")).text
    assert "مجوز معلولیت: در انتظار بررسی" in page
    assert "۱۵ فروردین ۱۴۰۶" in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"photo": b"GIF89a not a photo", "name": "permit.png"}, "permit_photo",
         "عکس باید تصویر JPEG یا PNG باشد."),
        ({"photo": b"\x89PNG\r\n\x1a\n" + b"\x00" * PHOTO_MAX_BYTES}, "permit_photo",
         "حجم عکس بیش از ۲ مگابایت است. عکس کوچک‌تری بفرستید."),
        ({"photo": b""}, "permit_photo", "عکسی از مجوز بفرستید."),
        ({"expires_on": "1404/01/01"}, "permit_expires_on",
         "اعتبار این مجوز تمام شده است؛ فقط مجوز معتبر را می‌توان افزود."),
        ({"expires_on": "2026-11-25"}, "permit_expires_on",
         "اعتبار این مجوز تمام شده است؛ فقط مجوز معتبر را می‌توان افزود."),
        ({"expires_on": "1405/13/40"}, "permit_expires_on",
         "تاریخ پایان اعتبار را به صورت سال، ماه و روز بنویسید، مثلاً ۱۴۰۵/۱۲/۲۹."),
        ({"number": "<script>"}, "permit_number",
         "شمارهٔ مجوز ۳ تا ۳۰ حرف، رقم، خط تیره یا ممیز دارد."),
    ],
)  # fmt: skip
async def test_a_bad_permit_is_refused_beside_its_field_and_the_earlier_permit_stays(
    citizen_client: httpx.AsyncClient,
    container: Container,
    fields: dict[str, object],
    field: str,
    message: str,
) -> None:
    vehicle_id = await add_car(citizen_client)
    assert (await send_permit(citizen_client, vehicle_id, number="EARLIER-1")).status_code == 303
    before = await row_counts(container)

    response = await send_permit(citizen_client, vehicle_id, **fields)  # type: ignore[arg-type]

    assert response.status_code == 422
    assert field_error(response.text, field) == message
    assert await row_counts(container) == before
    permits = await queries.permits_of(container.database, citizen_id=await _citizen(container))
    assert permits[vehicle_id].number == "EARLIER-1"


async def test_staff_approve_a_permit_and_parking_then_sees_it_until_its_expiry(
    citizen_client: httpx.AsyncClient, container: Container, client: httpx.AsyncClient
) -> None:
    vehicle_id = await add_car(citizen_client)
    await send_permit(citizen_client, vehicle_id)
    citizen = await _citizen(container)
    directory = VehiclesFromIdentity(container)
    waiting = await directory.vehicle(citizen_id=citizen, plate="12B345-67")
    assert waiting is not None
    assert waiting.permit_expires_on is None  # not yet approved

    async with _staff(container) as staff:
        token = await staff_token(staff, container, Role.parking_operator)
        listing = await staff.get(REVIEW, headers=bearer(token))
        assert listing.status_code == 200
        assert "در انتظار بررسی" in listing.text
        permit_id = re.search(r'data-permit-id="([^"]+)" data-state="pending"', listing.text)
        assert permit_id is not None
        photo = await staff.get(f"{REVIEW}/{permit_id.group(1)}/photo", headers=bearer(token))
        assert photo.headers["content-type"] == "image/png"
        assert photo.content == png()
        assert "no-store" in photo.headers["cache-control"]

        approved = await staff.post(
            f"{REVIEW}/{permit_id.group(1)}/review", data={"decision": "approve"},
            headers=bearer(token),
        )  # fmt: skip
        again = await staff.post(
            f"{REVIEW}/{permit_id.group(1)}/review", data={"decision": "reject"},
            headers=bearer(token),
        )  # fmt: skip

    assert approved.status_code == 303
    assert again.status_code == 409
    assert "این مجوز پیش‌تر بررسی شده است." in again.text
    found = await directory.vehicle(citizen_id=citizen, plate="12B345-67")
    assert found is not None
    assert found.permit_expires_on == date(2027, 4, 4)
    page = (await citizen_client.get("/account")).text
    assert "مجوز معلولیت: تأییدشده" in page


async def test_a_rejected_permit_is_never_passed_on_to_parking(
    citizen_client: httpx.AsyncClient, container: Container
) -> None:
    vehicle_id = await add_car(citizen_client)
    await send_permit(citizen_client, vehicle_id)
    async with _staff(container) as staff:
        token = await staff_token(staff, container, Role.admin)
        listing = (await staff.get(REVIEW, headers=bearer(token))).text
        permit_id = re.search(r'data-permit-id="([^"]+)"', listing)
        assert permit_id is not None
        await staff.post(
            f"{REVIEW}/{permit_id.group(1)}/review", data={"decision": "reject"},
            headers=bearer(token),
        )  # fmt: skip
        staff.cookies.set(LANGUAGE_COOKIE, "en")
        english = (await staff.get(REVIEW, headers=bearer(token))).text

    assert 'data-state="rejected"' in english
    assert "Disability permit: rejected" in english
    permits = await queries.permits_of(container.database, citizen_id=await _citizen(container))
    assert permits[vehicle_id].state_on(date(2026, 11, 26)) is PermitState.rejected
    found = await VehiclesFromIdentity(container).vehicle(
        citizen_id=await _citizen(container), plate="12B345-67"
    )
    assert found is not None
    assert found.permit_expires_on is None


async def test_only_parking_operators_and_admins_may_review_permits(
    container: Container, citizen_client: httpx.AsyncClient
) -> None:
    assert (await citizen_client.get(REVIEW)).status_code == 403
    async with _staff(container) as staff:
        token = await staff_token(staff, container, Role.traffic_operator)
        assert (await staff.get(REVIEW, headers=bearer(token))).status_code == 403
    tools = container.workspace.tools_for(_principal(Role.parking_operator))
    assert [t.href for t in tools if t.href == REVIEW] == [REVIEW]


# --- helpers -------------------------------------------------------------------------------


async def _citizen(container: Container) -> str:
    """The one citizen these tests sign in."""
    async with container.database.session() as session:
        return str((await session.execute(text("SELECT id FROM identity_citizen"))).scalar_one())


def _staff(container: Container) -> httpx.AsyncClient:
    """A second browser, for staff, beside the citizen's."""
    transport = httpx.ASGITransport(app=create_app(container))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


def _principal(role: Role) -> Principal:
    return Principal(id="s-1", kind="staff", display_name="s", roles=frozenset({role}))


async def test_a_wheelchair_plate_is_asked_for_its_permit_and_gets_no_right_from_the_plate(
    citizen_client: httpx.AsyncClient, container: Container
) -> None:
    boxes = {
        "plate_first": "۴۵",
        "plate_letter": "PwD",
        "plate_middle": "۶۷۸",
        "plate_region": "۹۰",
    }
    vehicle_id = await add_car(citizen_client, **boxes)
    page = (await citizen_client.get("/account")).text

    assert "پلاک سری ♿ به‌تنهایی جایگاه معلولان را باز نمی‌کند" in page
    assert re.search(r'data-plate="45PwD678-90".*?<details open>', page, re.S)  # form shown
    found = await VehiclesFromIdentity(container).vehicle(
        citizen_id=await _citizen(container), plate="45PwD678-90"
    )
    assert found is not None
    assert found.permit_expires_on is None

    await send_permit(citizen_client, vehicle_id)
    waiting = (await citizen_client.get("/account")).text
    assert "پلاک سری ♿" not in waiting  # the permit is sent: it now waits for staff
