"""Payments' staff page: reconciliation, every payment by where it stands.

A payment reads here in the same words the citizen reads on the page of what it paid for
(`domain.STANDING_LABELS`), beside what only staff need: the bank's own status, whether the
ledger booked it, and when a payment in doubt is decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shahr.kernel.access import Admits
from shahr.kernel.principals import Role
from shahr.kernel.web.deps import DatabaseDep, TemplatesDep
from shahr.payments import queries
from shahr.payments.domain import STANDING_LABELS, Standing

STAFF_PAYMENTS = "/staff/payments"
RECONCILERS = frozenset({Role.parking_operator, Role.admin})
SHOWN = 100

router = APIRouter(tags=["payments staff pages"], include_in_schema=False)


@router.get(STAFF_PAYMENTS, dependencies=[Depends(Admits(*RECONCILERS))])
async def staff_payments(
    request: Request,
    database: DatabaseDep,
    templates: TemplatesDep,
    standing: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The latest payments, filtered by standing (in doubt, paid, not paid, returned, refunded)."""
    chosen = Standing(standing) if standing in set(Standing) else None
    found = await queries.standings(database, standing=chosen, limit=SHOWN)
    context = {
        "payments": found,
        "chosen": chosen,
        "filters": [(s, STANDING_LABELS[s]) for s in Standing],
        "report": _last_run(await queries.latest_reconciliation(database)),
        "shown": SHOWN,
    }
    return templates.render(request, "payments/staff_payments.html", context)


def _last_run(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """When reconciliation last ran and whether the books were clean."""
    if report is None:
        return None
    return {"ran_at": datetime.fromisoformat(report["ran_at"]), "clean": bool(report["clean"])}
