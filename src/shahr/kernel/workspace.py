"""The staff workspace's tools: each area adds its own screens; the shell lists them by role.

An area's `wiring.py` calls `container.workspace.add(StaffTool(...))` for each staff screen
it serves; `/staff` and the staff header show a signed-in member the tools their roles
may open, so a later area fills in the shell without touching it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shahr.kernel.principals import Principal, Role


@dataclass(frozen=True)
class StaffTool:
    """One staff screen: who may open it, where it is, and its name and summary (msgids)."""

    href: str
    title: str
    summary: str
    roles: frozenset[Role]
    area: str


class Workspace:
    """The staff tools wired into this process, in the order the areas added them."""

    def __init__(self) -> None:
        self._tools: list[StaffTool] = []

    def add(self, tool: StaffTool) -> None:
        if any(existing.href == tool.href for existing in self._tools):
            raise ValueError(f"a staff tool is at {tool.href} already")
        self._tools.append(tool)

    def tools_for(self, principal: Principal | None) -> list[StaffTool]:
        """The tools `principal` may open (admin sees every one); none for citizens."""
        if principal is None or principal.kind != "staff":
            return []
        if Role.admin in principal.roles:
            return list(self._tools)
        return [tool for tool in self._tools if tool.roles & principal.roles]

    def roles_for(self, href: str) -> frozenset[Role]:
        """The roles that may open the tool at `href` (for a 403 page to name)."""
        for tool in self._tools:
            if tool.href == href:
                return tool.roles
        return frozenset()
