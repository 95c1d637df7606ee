"""What other areas call: the demo seeder's account helpers, the SMS adapter, the wiring."""

from __future__ import annotations

from pathlib import Path

import pytest

from shahr import bootstrap
from shahr.bootstrap import Container
from shahr.identity import queries
from shahr.identity.domain import InvalidPhoneError
from shahr.identity.gateways import SMS, ConsoleSms
from shahr.identity.services import ensure_citizen
from shahr.kernel.clock import FixedClock
from shahr.kernel.settings import Settings

from .flows import row_counts


async def test_ensuring_a_citizen_twice_keeps_one_and_updates_the_name(
    container: Container,
) -> None:
    first = await ensure_citizen(container.database, phone="0912 000 0001", display_name="Ali Demo")
    second = await ensure_citizen(
        container.database, phone="+989120000001", display_name="علی نمونه"
    )

    assert first == second
    assert (await row_counts(container))["identity_citizen"] == 1
    citizen = await queries.citizen(container.database, citizen_id=first)
    assert citizen is not None
    assert citizen.display_name == "علی نمونه"
    assert citizen.phone == "+989120000001"


async def test_ensuring_a_citizen_with_a_bad_phone_writes_nothing(container: Container) -> None:
    with pytest.raises(InvalidPhoneError):
        await ensure_citizen(container.database, phone="12", display_name="X")
    assert (await row_counts(container))["identity_citizen"] == 0


async def test_the_console_sms_keeps_messages_and_writes_no_outbox_when_not_asked(
    capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    sms = ConsoleSms(None, clock=clock)
    await sms.send("+989121234567", "کد ورود شما به شهر: 123456")
    assert sms.last_to("+989121234567") is not None
    assert sms.sent[0].sent_at == clock.now()
    assert sms.outbox is None
    assert "+989121234567: کد ورود شما به شهر: 123456" in capsys.readouterr().out


def test_outside_demo_mode_the_wiring_keeps_no_sms_outbox(tmp_path: Path) -> None:
    built = bootstrap.build(Settings(var_dir=tmp_path, demo=False))
    sms = built.get(SMS)
    assert isinstance(sms, ConsoleSms)
    assert sms.outbox is None
    assert callable(built.resolve_principal)
