"""The sandbox PSP: the embedded adapter, a bank that lives in this app's database.

The app serves its bank page under `/sandbox-psp/` (see `pages`), and the sandbox keeps
its own state in `payments_sandbox_transaction`, as a bank would. Switches on
its page simulate a decline, a verification that times out, a duplicate callback and a
callback that never comes; a global switch takes the whole PSP down.

`cards`: the card details the page takes; `transactions`: the bank's record and answer;
`psp`: the PSP itself.
"""

from shahr.payments.gateways.sandbox.cards import (
    BankPageError,
    luhn_valid,
    mask_card,
    parse_card_number,
)
from shahr.payments.gateways.sandbox.psp import SandboxPsp
from shahr.payments.gateways.sandbox.transactions import (
    DOWN_SWITCH,
    BankAnswer,
    SandboxScenario,
    SandboxStatus,
    SandboxTransaction,
)

__all__ = [
    "DOWN_SWITCH",
    "BankAnswer",
    "BankPageError",
    "SandboxPsp",
    "SandboxScenario",
    "SandboxStatus",
    "SandboxTransaction",
    "luhn_valid",
    "mask_card",
    "parse_card_number",
]
