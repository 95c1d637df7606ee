"""ZarinPal, a real Iranian internet payment gateway (docs/decisions/0028).

`protocol`: its v4 REST paths, codes and answers as documented; `psp`: the adapter.
"""

from shahr.payments.gateways.zarinpal.protocol import SessionStatus
from shahr.payments.gateways.zarinpal.psp import NAME, ZarinPalPsp, sign_payment

__all__ = ["NAME", "SessionStatus", "ZarinPalPsp", "sign_payment"]
