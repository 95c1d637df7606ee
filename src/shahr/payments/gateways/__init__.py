"""The payment-gateway port (`port`), its embedded adapter, the sandbox PSP (`sandbox`), and
ZarinPal (`zarinpal`), a real gateway."""

from __future__ import annotations

from shahr.payments.gateways.port import (
    CALLBACK_FIELDS,
    CALLBACK_PATH,
    PSP,
    SIGNATURE_FIELD,
    CallbackStatus,
    PaymentGateway,
    PspCallback,
    PspToken,
    VerifyResult,
    callback_key,
    read_signed_callback,
    sign_callback,
)
from shahr.payments.gateways.sandbox import (
    DOWN_SWITCH,
    BankAnswer,
    BankPageError,
    SandboxPsp,
    SandboxScenario,
    SandboxStatus,
    SandboxTransaction,
    luhn_valid,
    mask_card,
    parse_card_number,
)
from shahr.payments.gateways.zarinpal import ZarinPalPsp

__all__ = [
    "CALLBACK_FIELDS",
    "CALLBACK_PATH",
    "DOWN_SWITCH",
    "PSP",
    "SIGNATURE_FIELD",
    "BankAnswer",
    "BankPageError",
    "CallbackStatus",
    "PaymentGateway",
    "PspCallback",
    "PspToken",
    "SandboxPsp",
    "SandboxScenario",
    "SandboxStatus",
    "SandboxTransaction",
    "VerifyResult",
    "ZarinPalPsp",
    "callback_key",
    "luhn_valid",
    "mask_card",
    "parse_card_number",
    "read_signed_callback",
    "sign_callback",
]
