"""Identity's fixtures: the SMS the console adapter kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shahr.identity.gateways import SMS, ConsoleSms

if TYPE_CHECKING:
    from shahr.bootstrap import Container


@pytest.fixture
def sms(container: Container) -> ConsoleSms:
    """The console SMS adapter the app was wired with; it keeps every message it sent."""
    gateway = container.get(SMS)
    assert isinstance(gateway, ConsoleSms)
    return gateway
