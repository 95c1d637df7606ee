"""The SMS port: what identity, and parking's reminders through it, ask of a provider."""

from __future__ import annotations

from typing import Protocol

from shahr.kernel.container import Part

# The sign-in text where the adapter writes the message itself; a provider with approved
# templates (Kavenegar's verify lookup) sends its own template's words instead.
SMS_TEXT_FA = "کد ورود شما به شهر: {code}"


class SmsGateway(Protocol):
    """Phones are canonical (`+989121234567`); a message the provider refuses raises
    `SmsNotSentError` (identity.domain), and nothing reached the phone."""

    async def send(self, phone: str, text: str) -> None:
        """Deliver `text` to the mobile number `phone`."""
        ...

    async def send_code(self, phone: str, code: str) -> None:
        """Deliver a one-time sign-in code, in the provider's OTP template if it has one."""
        ...


SMS: Part[SmsGateway] = Part("identity.sms")
