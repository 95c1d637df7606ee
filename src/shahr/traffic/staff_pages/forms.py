"""What the inventory's staff forms share: where an error goes, and its HTTP status."""

from __future__ import annotations

from shahr.kernel.errors import DomainError
from shahr.kernel.web import i18n
from shahr.kernel.web.problems import KERNEL_ERROR_STATUS

# Traffic's own errors are a form's fault (422) unless the thing is not there (404).
FORM_ERROR_STATUS = 422


def errors_of(error: DomainError) -> dict[str, str]:
    """The error, translated, under the field it names (`form` when it names none)."""
    return {error.field or "form": i18n.gettext(error.message, **error.params)}


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in KERNEL_ERROR_STATUS and cls is not DomainError:
            return KERNEL_ERROR_STATUS[cls]
    return FORM_ERROR_STATUS
