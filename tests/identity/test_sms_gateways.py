"""Which SMS adapter settings pick, and what the console one shows and keeps."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from shahr import bootstrap
from shahr.identity.gateways import SMS, ConsoleSms, KavenegarSms
from shahr.identity.gateways.kavenegar import receptor
from shahr.kernel.clock import FixedClock
from shahr.kernel.container import StartupRefusedError
from shahr.kernel.settings import Settings

PHONE = "+989121234567"
KAVENEGAR = {
    "sms_provider": "kavenegar",
    "kavenegar_api_key": "a-kavenegar-key",
    "kavenegar_otp_template": "shahr-sign-in",
}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_demo_outbox_is_created_readable_only_by_its_owner(
    tmp_path: Path, clock: FixedClock
) -> None:
    outbox = tmp_path / "var" / "sms-outbox.jsonl"
    sms = ConsoleSms(outbox, clock=clock)
    await sms.send_code(PHONE, "123456")
    assert mode_of(outbox) == 0o600
    assert "123456" in outbox.read_text(encoding="utf-8")


async def test_an_outbox_left_readable_by_others_is_tightened_on_the_next_message(
    tmp_path: Path, clock: FixedClock
) -> None:
    outbox = tmp_path / "sms-outbox.jsonl"
    outbox.write_text('{"to": "+989120000000", "text": "old"}\n', encoding="utf-8")
    outbox.chmod(0o644)
    await ConsoleSms(outbox, clock=clock).send(PHONE, "a reminder")
    assert mode_of(outbox) == 0o600
    assert len(outbox.read_text(encoding="utf-8").splitlines()) == 2


async def test_in_production_the_console_shows_neither_the_number_nor_the_code(
    capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    sms = ConsoleSms(None, clock=clock, reveal=False)
    await sms.send_code(PHONE, "123456")
    printed = capsys.readouterr().out
    assert printed == "SMS sent (number and text withheld in production)\n"
    # Tests (and a staging city's operator, by the outbox) still have the message.
    last = sms.last_to(PHONE)
    assert last is not None
    assert "123456" in last.text


async def test_in_development_the_console_prints_the_code_for_the_developer(
    capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    await ConsoleSms(None, clock=clock).send_code(PHONE, "123456")
    assert f"SMS to {PHONE}: کد ورود شما به شهر: 123456" in capsys.readouterr().out


def test_production_wires_a_console_that_hides_what_it_sends(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        environment="production",
        secret_key="a-production-secret",  # type: ignore[arg-type]
        allow_sandbox_in_production=True,
    )
    sms = bootstrap.build(settings).get(SMS)
    assert isinstance(sms, ConsoleSms)
    assert not sms.reveal


def test_the_console_says_it_is_a_sandbox_and_kavenegar_does_not(tmp_path: Path) -> None:
    console = bootstrap.build(Settings(var_dir=tmp_path))
    assert any("SHAHR_SMS_PROVIDER=console" in s for s in console.sandboxes)
    kavenegar = bootstrap.build(Settings(var_dir=tmp_path, **KAVENEGAR))  # type: ignore[arg-type]
    assert isinstance(kavenegar.get(SMS), KavenegarSms)
    assert not any("SMS" in s for s in kavenegar.sandboxes)


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("kavenegar_api_key", "SHAHR_KAVENEGAR_API_KEY"),
        ("kavenegar_otp_template", "SHAHR_KAVENEGAR_OTP_TEMPLATE"),
    ],
)
def test_kavenegar_without_its_key_or_template_is_a_settings_error_naming_it(
    missing: str, named: str
) -> None:
    incomplete = {k: v for k, v in KAVENEGAR.items() if k != missing}
    with pytest.raises(ValidationError, match=named):
        Settings(**incomplete)  # type: ignore[arg-type]


def test_production_sends_the_kavenegar_key_only_over_https() -> None:
    with pytest.raises(ValidationError, match="SHAHR_KAVENEGAR_BASE_URL must be https"):
        Settings(
            environment="production",
            secret_key="a-production-secret",  # type: ignore[arg-type]
            kavenegar_base_url="http://api.kavenegar.com",
            **KAVENEGAR,  # type: ignore[arg-type]
        )


def test_the_provider_and_its_account_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHAHR_SMS_PROVIDER", "kavenegar")
    monkeypatch.setenv("SHAHR_KAVENEGAR_API_KEY", "from-the-environment")
    monkeypatch.setenv("SHAHR_KAVENEGAR_OTP_TEMPLATE", "shahr-sign-in")
    settings = Settings()
    assert settings.sms_provider == "kavenegar"
    assert settings.kavenegar_api_key is not None
    assert "from-the-environment" not in repr(settings)
    assert settings.kavenegar_base_url == "https://api.kavenegar.com"


def test_kavenegar_gets_the_number_as_its_examples_write_it() -> None:
    assert receptor(PHONE) == "09121234567"


def test_production_on_kavenegar_no_longer_names_the_console_among_its_sandboxes(
    tmp_path: Path,
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        environment="production",
        secret_key="a-production-secret",  # type: ignore[arg-type]
        **KAVENEGAR,  # type: ignore[arg-type]
    )
    with pytest.raises(StartupRefusedError) as refused:
        bootstrap.build(settings)
    assert "the sandbox bank" in str(refused.value)
    assert "the console SMS adapter" not in str(refused.value)
