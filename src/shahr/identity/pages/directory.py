"""Accounts, for the admin: staff accounts with their roles and whether they are locked out,
and citizens with a masked phone number and their vehicles, searched and paged.

Read-only: staff accounts come from `services.ensure_staff_account` (the demo's cast uses
it); creating accounts, changing roles and unlocking from this page are not built yet.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shahr.identity import queries, services
from shahr.identity.domain import mask_phone
from shahr.kernel.access import Admits
from shahr.kernel.principals import Role
from shahr.kernel.web import i18n
from shahr.kernel.web.deps import CacheDep, DatabaseDep, SettingsDep, TemplatesDep
from shahr.kernel.web.paging import PAGING_MESSAGES, page_link, page_number

ACCOUNTS_PAGE = "/staff/admin/accounts"
ADMINS = Depends(Admits(Role.admin))
QueryText = Annotated[str, Query()]
# Longer than any username, name or phone number: a longer search is refused, not run.
LONGEST_SEARCH = 60

router = APIRouter(tags=["identity staff pages"], include_in_schema=False)


class Listing(StrEnum):
    staff = "staff"
    citizens = "citizens"


ROLE_LABELS = {
    Role.citizen: "Citizen",
    Role.parking_operator: "Parking operator",
    Role.enforcement_officer: "Enforcement officer",
    Role.traffic_operator: "Traffic operator",
    Role.police_unit: "Police unit",
    Role.aq_desk: "Air-quality desk",
    Role.transparency_editor: "Transparency editor",
    Role.admin: "Administrator",
}
SEARCH_MESSAGES = {
    "too_long": "Search for at most {limit} characters.",
    "listing": "Choose staff or citizens.",
}


def _read_query(who: str, q: str, page: str) -> tuple[Listing, str, int, dict[str, str]]:
    """The listing, search and page asked for; a part that cannot be read is left out and said."""
    errors: dict[str, str] = {}
    try:
        listing = Listing(who.strip() or Listing.staff.value)
    except ValueError:
        listing = Listing.staff
        errors["who"] = i18n.gettext(SEARCH_MESSAGES["listing"])
    search = q.strip()
    if len(search) > LONGEST_SEARCH:
        errors["q"] = i18n.gettext(SEARCH_MESSAGES["too_long"], limit=LONGEST_SEARCH)
        search = ""
    chosen_page = page_number(page)
    if chosen_page is None:
        errors["page"] = i18n.gettext(PAGING_MESSAGES["page"])
    return listing, search, chosen_page or 1, errors


@router.get(ACCOUNTS_PAGE, dependencies=[ADMINS])
async def accounts_page(
    request: Request,
    templates: TemplatesDep,
    database: DatabaseDep,
    cache: CacheDep,
    settings: SettingsDep,
    who: QueryText = "",
    q: QueryText = "",
    page: QueryText = "",
) -> Response:
    """Staff accounts (roles, locked out or not) or citizens (masked phone, vehicles)."""
    listing, search, chosen_page, errors = _read_query(who, q, page)
    context: dict[str, Any] = {
        "listing": listing.value,
        "search": search,
        "errors": errors,
        "role_labels": ROLE_LABELS,
    }
    if listing is Listing.staff:
        staff = await queries.staff_lines(database, search=search, page=chosen_page)
        locked = {
            line.id: await services.locked_out_for_s(cache, settings, line.username)
            for line in staff.lines
        }
        context |= {"accounts": staff, "locked": locked}
    else:
        citizens = await queries.citizen_lines(database, search=search, page=chosen_page)
        context |= {
            "accounts": citizens,
            "phones": {line.id: mask_phone(line.phone) for line in citizens.lines},
        }
    values = {"who": listing.value, "q": search}
    context["page_link"] = lambda number: page_link(ACCOUNTS_PAGE, values, number)
    status = 400 if errors else 200
    return templates.render(request, "identity/accounts.html", context, status_code=status)
