"""Who a request speaks for: the roles and the principal, with no web framework in sight.

Domain code names roles (identity's staff rules, the demo's cast) and so must be able to
import them without FastAPI; the guard that checks them on a request is `kernel.access`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    citizen = "citizen"
    parking_operator = "parking_operator"
    enforcement_officer = "enforcement_officer"
    traffic_operator = "traffic_operator"
    police_unit = "police_unit"
    aq_desk = "aq_desk"
    transparency_editor = "transparency_editor"
    admin = "admin"


STAFF_ROLES = frozenset(Role) - {Role.citizen}

PrincipalKind = Literal["citizen", "staff", "api_key"]


@dataclass(frozen=True)
class Principal:
    """Whoever a request speaks for: a citizen, a staff member or an open-data API key."""

    id: str
    kind: PrincipalKind
    display_name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    quota_tier: str | None = None
