"""The shell's menus: the citizen's five items with the one the page is in, and role names.

Pure lookups from a request path; the layout (`shell/base.html`) draws them. An item's
section is every page under its address, so a meter's page keeps "Parking" marked and a
reservation's page "My parking".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from shahr.kernel.principals import Role
from shahr.kernel.web import i18n


@dataclass(frozen=True)
class MenuItem:
    """One entry of the citizen menu: its address and the paths it covers."""

    key: str
    href: str
    covers: tuple[str, ...]


# The items' names, as a table the translation scan reads.
MENU_LABELS = {
    "parking": "Parking",
    "my-parking": "My parking",
    "wallet": "Wallet",
    "traffic": "Traffic",
    "more": "More",
}

# Most specific first: the first item whose section holds the path is the one marked.
CITIZEN_MENU = (
    MenuItem("my-parking", "/parking/my", ("/parking/my", "/parking/reservations")),
    MenuItem("parking", "/parking", ("/parking",)),
    MenuItem("wallet", "/wallet", ("/wallet", "/payments")),
    MenuItem("traffic", "/traffic", ("/traffic",)),
    MenuItem("more", "/more", ("/more", "/account", "/api/docs", "/sign-in")),
)
# The order a phone shows them in (the lookup order above is not the reading order).
MENU_ORDER = ("parking", "my-parking", "wallet", "traffic", "more")


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

Current = Literal["page", "true", ""]


@dataclass(frozen=True)
class MenuEntry:
    """A menu item as one page shows it: `current` is its `aria-current` ("" when not)."""

    key: str
    href: str
    label: str
    current: Current


def _within(path: str, section: str) -> bool:
    return path == section or path.startswith(section.rstrip("/") + "/")


def section_of(path: str) -> str | None:
    """The key of the menu item whose section holds `path`, if any."""
    for item in CITIZEN_MENU:
        if any(_within(path, covered) for covered in item.covers):
            return item.key
    return None


def citizen_menu(path: str) -> list[MenuEntry]:
    """The menu for the page at `path`: "page" on the item it is, "true" on the section."""
    section = section_of(path)
    by_key = {item.key: item for item in CITIZEN_MENU}
    entries = []
    for key in MENU_ORDER:
        item = by_key[key]
        current: Current = ""
        if key == section:
            current = "page" if path == item.href else "true"
        entries.append(MenuEntry(key, item.href, i18n.gettext(MENU_LABELS[key]), current))
    return entries


def role_names(roles: Iterable[Role | str]) -> list[str]:
    """The roles' names in the reader's language, in the order `Role` lists them."""
    wanted = {str(role) for role in roles}
    return [i18n.gettext(ROLE_LABELS[role]) for role in Role if role.value in wanted]
