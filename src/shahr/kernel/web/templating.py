"""Jinja2 for every area: one environment, the shell's layout, filters for Persian display."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shahr.kernel.money import format_rial, format_toman, group_thousands
from shahr.kernel.persian import format_jalali, persian_digits
from shahr.kernel.web import i18n
from shahr.kernel.web.navigation import citizen_menu, role_names

SHAHR_DIR = Path(__file__).resolve().parents[2]


def _template_dirs() -> list[Path]:
    """The shell's templates first, then each area's `templates/` folder."""
    shell = SHAHR_DIR / "kernel" / "web" / "templates"
    areas = sorted(p for p in SHAHR_DIR.glob("*/templates") if p.is_dir())
    return [shell, *areas]


def _digits(value: object) -> str:
    text = str(value)
    return persian_digits(text) if i18n.current_language.get() == "fa" else text


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_template_dirs()),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        lambda message, **kw: i18n.gettext(message, **kw),
        lambda s, p, n, **kw: i18n.ngettext(s, p, n, **kw),
        newstyle=False,
    )
    env.filters["digits"] = _digits
    env.filters["number"] = lambda n: group_thousands(int(n), i18n.current_language.get())
    env.filters["rial"] = lambda n: format_rial(int(n), i18n.current_language.get())
    env.filters["toman"] = lambda n: format_toman(int(n), i18n.current_language.get())
    env.globals["role_names"] = role_names
    env.filters["jalali"] = lambda moment, with_time=True: (
        format_jalali(moment, i18n.current_language.get(), with_time=with_time)
        if isinstance(moment, datetime)
        else ""
    )
    return env


class Templates:
    """Renders a page with what every page needs: language, direction, principal, CSRF token."""

    def __init__(self) -> None:
        self.env = build_environment()

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        language = i18n.current_language.get()
        principal = getattr(request.state, "principal", None)
        container = request.app.state.container
        page = {
            "request": request,
            "lang": language,
            "dir": i18n.direction(language),
            "principal": principal,
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "settings": container.settings,
            # The citizen menu and the staff header's tools (`shell/base.html`, `staff_base.html`).
            "menu": citizen_menu(request.url.path),
            "staff_tools": container.workspace.tools_for(principal),
            **(context or {}),
        }
        html = self.env.get_template(name).render(page)
        return HTMLResponse(html, status_code=status_code)
