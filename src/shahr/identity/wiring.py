"""Identity's composition: the SMS gateway and the principal resolver the kernel's guard asks."""

from __future__ import annotations

from shahr.identity.api import make_principal_resolver
from shahr.identity.gateways import SMS, ConsoleSms
from shahr.identity.pages.permits import PERMITS_PATH, REVIEWERS
from shahr.kernel.container import Container
from shahr.kernel.principals import Role
from shahr.kernel.workspace import StaffTool

ACCOUNTS_TOOL = "/staff/admin/accounts"
# The staff tools' names and summaries: msgids the staff shell translates as it lists them.
STAFF_TOOL_TITLES = {ACCOUNTS_TOOL: "Accounts", PERMITS_PATH: "Disability permits"}
STAFF_TOOL_HINTS = {
    ACCOUNTS_TOOL: "Staff accounts with their roles and lockouts, and citizens, searched.",
    PERMITS_PATH: "Approve or reject the permits citizens send for disabled bays.",
}


def wire_identity(container: Container) -> None:
    settings = container.settings
    # The console stands in for an SMS provider; the demo also keeps an outbox file so a
    # visitor (or a browser test) can read the code.
    outbox = settings.var_dir / "sms-outbox.jsonl" if settings.demo else None
    container.provide(SMS, ConsoleSms(outbox, clock=container.clock))
    container.declare_sandbox("the console SMS adapter, which prints each text to the terminal")
    container.resolve_principal = make_principal_resolver(container.database, container.clock)
    container.workspace.add(
        StaffTool(
            href=ACCOUNTS_TOOL,
            title=STAFF_TOOL_TITLES[ACCOUNTS_TOOL],
            summary=STAFF_TOOL_HINTS[ACCOUNTS_TOOL],
            roles=frozenset({Role.admin}),
            area="identity",
        )
    )
    # Served by identity (the permits are the vehicles'), used for parking's disabled bays.
    container.workspace.add(
        StaffTool(
            href=PERMITS_PATH,
            title=STAFF_TOOL_TITLES[PERMITS_PATH],
            summary=STAFF_TOOL_HINTS[PERMITS_PATH],
            roles=REVIEWERS,
            area="parking",
        )
    )
