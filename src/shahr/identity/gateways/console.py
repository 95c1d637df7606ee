"""The console adapter: stands in for an SMS provider by printing each text."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shahr.identity.gateways.port import SMS_TEXT_FA
from shahr.kernel.clock import Clock, SystemClock

# Only the process's own user may read the codes in the outbox.
OUTBOX_MODE = 0o600


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    sent_at: datetime


class ConsoleSms:
    """Prints each message; in demo mode also appends it to an outbox file.

    The outbox (`var/sms-outbox.jsonl`, readable only by its owner) lets a demo visitor, or a
    browser test, read the code without a phone. Messages are also kept in `sent`, so tests
    read them directly. With `reveal` off (production, where a staging city allowed the
    sandbox) the terminal gets only that a text went: logs there are kept and shipped, and
    even a masked number shows seven of its eleven digits.
    """

    def __init__(
        self, outbox: Path | None = None, *, clock: Clock | None = None, reveal: bool = True
    ) -> None:
        self.outbox = outbox
        self.reveal = reveal
        self.sent: list[SmsMessage] = []
        self._clock = clock or SystemClock()

    async def send_code(self, phone: str, code: str) -> None:
        await self.send(phone, SMS_TEXT_FA.format(code=code))

    async def send(self, phone: str, text: str) -> None:
        message = SmsMessage(to=phone, text=text, sent_at=self._clock.now())
        self.sent.append(message)
        # Standing in for the provider is this adapter's whole job: the developer reads
        # the code off the terminal, so it goes to stdout whatever the log level is.
        if self.reveal:
            print(f"SMS to {phone}: {text}", flush=True)
        else:
            print("SMS sent (number and text withheld in production)", flush=True)
        if self.outbox is not None:
            _append(self.outbox, message)

    def last_to(self, phone: str) -> SmsMessage | None:
        """The newest message sent to `phone`, if any."""
        return next((m for m in reversed(self.sent) if m.to == phone), None)


def _append(path: Path, message: SmsMessage) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {"to": message.to, "text": message.text, "sent_at": message.sent_at.isoformat()},
        ensure_ascii=False,
    )
    # Created owner-only; fchmod also tightens a file an older version left readable.
    # One short append per message: small enough not to need a thread.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, OUTBOX_MODE)
    os.fchmod(descriptor, OUTBOX_MODE)
    with os.fdopen(descriptor, "a", encoding="utf-8") as outbox:
        outbox.write(line + "\n")
