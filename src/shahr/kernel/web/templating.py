"""Jinja2 for every area: one environment, the shell's layout, filters for Persian display."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from shahr.kernel.money import format_rial, format_toman, format_toman_and_rial, group_thousands
from shahr.kernel.persian import format_decimal, format_jalali, jalali_year, persian_digits
from shahr.kernel.web import i18n
from shahr.kernel.web.navigation import citizen_menu, role_names

SHAHR_DIR = Path(__file__).resolve().parents[2]


def _template_dirs() -> list[Path]:
    """The shell's templates first, then each area's `templates/` folder."""
    shell = SHAHR_DIR / "kernel" / "web" / "templates"
    areas = sorted(p for p in SHAHR_DIR.glob("*/templates") if p.is_dir())
    return [shell, *areas]


def _in_page_language(write: Callable[..., str]) -> Callable[..., str]:
    """A filter that writes in the request's language (`write(value, ..., language=...)`).

    Marked as needing the template context so that Jinja never computes it once, when the
    template is compiled: `'12'|digits` folded on a Persian page would stay `۱۲` on every
    English page the same compiled template renders afterwards.
    """

    @pass_context
    def apply(_context: Context, value: Any, *args: Any, **kwargs: Any) -> str:
        return write(value, *args, language=i18n.current_language.get(), **kwargs)

    return apply


def _digits(value: object, *, language: str) -> str:
    text = str(value)
    return persian_digits(text) if language == "fa" else text


def _jalali(moment: object, with_time: bool = True, *, language: str) -> str:
    if not isinstance(moment, datetime):
        return ""
    return format_jalali(moment, language, with_time=with_time)


def _decimal(value: object, places: int = 2, *, language: str) -> str:
    return format_decimal(float(str(value)), int(places), language)


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
    env.filters["digits"] = _in_page_language(_digits)
    env.filters["number"] = _in_page_language(lambda n, language: group_thousands(int(n), language))
    # Money for citizens is Toman (`toman`); a receipt and the bank's page add the exact
    # Rial after it (`toman_rial`). `rial` alone is for staff tables of bank records.
    env.filters["toman"] = _in_page_language(lambda n, language: format_toman(int(n), language))
    env.filters["toman_rial"] = _in_page_language(
        lambda n, language: format_toman_and_rial(int(n), language)
    )
    env.filters["rial"] = _in_page_language(lambda n, language: format_rial(int(n), language))
    env.filters["decimal"] = _in_page_language(_decimal)
    env.filters["jalali"] = _in_page_language(_jalali)
    env.filters["jalali_year"] = jalali_year
    env.globals["role_names"] = role_names
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
            "staging": container.is_staging,
            **(context or {}),
        }
        html = self.env.get_template(name).render(page)
        return HTMLResponse(html, status_code=status_code)
