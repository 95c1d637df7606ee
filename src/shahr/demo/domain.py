"""The demo city's accounts and rules. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Role

DEMO_CITIZEN_PHONE = "09120000001"

# Shown in the app next to each account; Persian first, as the pages are.
DEMO_DISPLAY_NAMES: dict[Role, str] = {
    Role.citizen: "شهروند نمایشی",
    Role.parking_operator: "اپراتور پارک (نمایشی)",
    Role.enforcement_officer: "مأمور کنترل پارک (نمایشی)",
    Role.traffic_operator: "اپراتور ترافیک (نمایشی)",
    Role.police_unit: "یگان پلیس راهور (نمایشی)",
    Role.aq_desk: "میز کیفیت هوا (نمایشی)",
    Role.transparency_editor: "ویراستار شفافیت (نمایشی)",
    Role.admin: "مدیر سامانه (نمایشی)",
}


class DemoDisabledError(DomainError):
    """The demo city (with its publicly known passwords) was asked for outside demo mode."""


@dataclass(frozen=True)
class DemoStaffAccount:
    """A staff account whose password is printed on the console: for the demo only."""

    role: Role
    username: str
    password: str
    display_name: str


def demo_staff_accounts() -> list[DemoStaffAccount]:
    """One staff account per staff role: the username is the role, the password `demo-<role>`."""
    return [
        DemoStaffAccount(
            role=role,
            username=role.value,
            password=f"demo-{role.value}",
            display_name=DEMO_DISPLAY_NAMES[role],
        )
        for role in Role
        if role is not Role.citizen
    ]
