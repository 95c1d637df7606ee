"""The SMS port, and the console adapter that stands in for an SMS provider."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from shahr.kernel.clock import Clock, SystemClock
from shahr.kernel.container import Part


class SmsGateway(Protocol):
    async def send(self, phone: str, text: str) -> None:
        """Deliver `text` to the mobile number `phone` (canonical, `+989121234567`)."""
        ...


SMS: Part[SmsGateway] = Part("identity.sms")


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    sent_at: datetime


class ConsoleSms:
    """Prints each message; in demo mode also appends it to an outbox file.

    The outbox (`var/sms-outbox.jsonl`) lets a demo visitor, or a browser test, read the
    code without a phone. Messages are also kept in `sent`, so tests read them directly.
    """

    def __init__(self, outbox: Path | None = None, *, clock: Clock | None = None) -> None:
        self.outbox = outbox
        self.sent: list[SmsMessage] = []
        self._clock = clock or SystemClock()

    async def send(self, phone: str, text: str) -> None:
        message = SmsMessage(to=phone, text=text, sent_at=self._clock.now())
        self.sent.append(message)
        # Standing in for the provider is this adapter's whole job: the developer reads
        # the code off the terminal, so it goes to stdout whatever the log level is.
        print(f"SMS to {phone}: {text}", flush=True)
        if self.outbox is not None:
            self.outbox.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(
                {"to": phone, "text": text, "sent_at": message.sent_at.isoformat()},
                ensure_ascii=False,
            )
            # One short append per message; small enough not to need a thread.
            with self.outbox.open("a", encoding="utf-8") as outbox:
                outbox.write(line + "\n")

    def last_to(self, phone: str) -> SmsMessage | None:
        """The newest message sent to `phone`, if any."""
        return next((m for m in reversed(self.sent) if m.to == phone), None)
