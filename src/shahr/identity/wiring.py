"""Identity's composition: the SMS gateway and the principal resolver the kernel's guard asks."""

from __future__ import annotations

from shahr.identity.api import make_principal_resolver
from shahr.identity.gateways import SMS, ConsoleSms
from shahr.kernel.container import Container


def wire_identity(container: Container) -> None:
    settings = container.settings
    # The console stands in for an SMS provider; the demo also keeps an outbox file so a
    # visitor (or a browser test) can read the code.
    outbox = settings.var_dir / "sms-outbox.jsonl" if settings.demo else None
    container.provide(SMS, ConsoleSms(outbox, clock=container.clock))
    container.resolve_principal = make_principal_resolver(container.database, container.clock)
