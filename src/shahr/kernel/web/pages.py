"""The shell's own pages beside the home page: "More" for citizens and the staff workspace.

`/staff` lists the tools an area wired into `container.workspace` that the member's roles
may open; each staff page extends `shell/staff_base.html`, whose header lists them too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from shahr.kernel.access import Admits
from shahr.kernel.principals import STAFF_ROLES, Principal
from shahr.kernel.web.deps import TemplatesDep

router = APIRouter(tags=["pages"], include_in_schema=False)

AnyCaller = Annotated[Principal | None, Depends(Admits(public=True))]
StaffMember = Annotated[Principal | None, Depends(Admits(*STAFF_ROLES))]


@router.get("/more")
async def more(request: Request, _principal: AnyCaller, templates: TemplatesDep) -> Response:
    """The menu's last item: account, language, API docs, what is coming, staff sign-in."""
    return templates.render(request, "shell/more.html")


@router.get("/staff")
async def workspace(request: Request, _member: StaffMember, templates: TemplatesDep) -> Response:
    """Where staff land after signing in: the tools of their roles."""
    return templates.render(request, "shell/staff.html")
