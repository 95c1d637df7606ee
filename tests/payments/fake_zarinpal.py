"""A fake ZarinPal on 127.0.0.1: a real HTTP server speaking its documented v4 protocol.

What it speaks (zarinpal.com/docs/paymentGateway): `request.json` hands out an authority for
the payer's page at `/pg/StartPay/{authority}`; the payer pays or gives up there (here, the
test calls `pay` or `give_up`, which answer the callback address ZarinPal would redirect
to, with `Authority` and `Status=OK|NOK` appended); `verify.json` confirms a paid payment
once (100) and answers 101 after; `reverse.json` gives a successful payment back within 30
minutes of its payment; `inquiry.json` says where a payment stands. Errors carry the
documented codes: -9 validation, -10 merchant, -12 too many attempts, -50 amount, -51 not
paid, -53 another merchant's, -54 unknown authority, -61 not reversible, -63 window passed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

REVERSE_WINDOW = timedelta(minutes=30)
MIN_AMOUNT_RIAL = 10_000
CARD_PAN = "502229******5995"


@dataclass
class Session:
    authority: str
    merchant_id: str
    amount: int
    callback_url: str
    status: str = "IN_BANK"
    paid_at: datetime | None = None
    ref_id: int | None = None


@dataclass
class Calls:
    """What the merchant asked, for tests to read: each call's path and JSON body."""

    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def to(self, path: str) -> list[dict[str, Any]]:
        return [body for called, body in self.bodies if called.endswith(path)]


def failure(code: int, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"data": [], "errors": {"code": code, "message": message}}, status)


def success(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"data": data, "errors": []})


class FakeZarinPal:
    """ZarinPal for one merchant; `now` is the test's clock, for the reversal window."""

    def __init__(self, merchant_id: str, now: Callable[[], datetime]) -> None:
        self.merchant_id = merchant_id
        self._now = now
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.calls = Calls()
        self.down = False
        # The next request.json answers this error code instead (the merchant's troubles).
        self.refuse_next_request: int | None = None
        # The next verify.json is done, but its answer held until `release` is set.
        self.hold_next_verify: threading.Event | None = None
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/pg/v4/payment/request.json", self._request, methods=["POST"]),
                Route("/pg/v4/payment/verify.json", self._verify, methods=["POST"]),
                Route("/pg/v4/payment/reverse.json", self._reverse, methods=["POST"]),
                Route("/pg/v4/payment/inquiry.json", self._inquiry, methods=["POST"]),
                Route("/pg/StartPay/{authority}", self._start_pay, methods=["GET"]),
            ]
        )

    # --- running ---

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # a free port, chosen now
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake ZarinPal did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.hold_next_verify is not None:
            self.hold_next_verify.set()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)

    # --- the payer, on ZarinPal's page ---

    def pay(self, authority: str) -> str:
        """The payer pays: where ZarinPal sends the browser back (Status=OK)."""
        with self._lock:
            session = self.sessions[authority]
            session.status, session.paid_at = "PAID", self._now()
        return self._back(session, "OK")

    def give_up(self, authority: str) -> str:
        """The payer cancels, or the card is declined: Status=NOK."""
        with self._lock:
            session = self.sessions[authority]
            session.status = "FAILED"
        return self._back(session, "NOK")

    @staticmethod
    def _back(session: Session, status: str) -> str:
        separator = "&" if "?" in session.callback_url else "?"
        query = urlencode({"Authority": session.authority, "Status": status})
        return f"{session.callback_url}{separator}{query}"

    # --- the merchant's API ---

    async def _body(self, request: Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        self.calls.bodies.append((request.url.path, body))
        return body

    async def _request(self, request: Request) -> Response:
        body = await self._body(request)
        if self.down:
            return PlainTextResponse("upstream down", 503)
        if body is None:
            return failure(-9, "The input params invalid, validation error.")
        if body.get("merchant_id") != self.merchant_id:
            return failure(-10, "Terminal is not valid, please check merchant_id or ip address.")
        if self.refuse_next_request is not None:
            code, self.refuse_next_request = self.refuse_next_request, None
            return failure(code, "Refused as the test asked.", 429 if code == -12 else 400)
        amount, callback = body.get("amount"), body.get("callback_url")
        if (
            not isinstance(amount, int)
            or amount < MIN_AMOUNT_RIAL
            or body.get("currency") != "IRR"
            or not isinstance(callback, str)
            or not callback.startswith(("http://", "https://"))
            or not body.get("description")
            or len(str(body["description"])) > 500
        ):
            return failure(-9, "The input params invalid, validation error.")
        with self._lock:
            authority = f"A{len(self.sessions) + 1:035d}"
            self.sessions[authority] = Session(authority, self.merchant_id, amount, callback)
        return success(
            {"code": 100, "message": "Success", "authority": authority, "fee_type": "Merchant"}
        )

    def _session(self, body: dict[str, Any] | None) -> Session | Response:
        if self.down:
            return PlainTextResponse("upstream down", 503)
        if body is None or body.get("merchant_id") != self.merchant_id:
            return failure(-10, "Terminal is not valid, please check merchant_id or ip address.")
        session = self.sessions.get(str(body.get("authority", "")))
        if session is None:
            return failure(-54, "Invalid authority.", 404)
        if session.merchant_id != body["merchant_id"]:
            return failure(-53, "Session is not this merchant_id session")
        return session

    async def _verify(self, request: Request) -> Response:
        body = await self._body(request)
        with self._lock:
            found = self._session(body)
            if isinstance(found, Response):
                return found
            answer = self._verified(found, body or {})
        hold, self.hold_next_verify = self.hold_next_verify, None
        if hold is not None:
            # Done at ZarinPal, but the answer is late: the merchant times out meanwhile.
            await asyncio.to_thread(hold.wait, 30)
        return answer

    def _verified(self, session: Session, body: dict[str, Any]) -> Response:
        if session.status not in ("PAID", "VERIFIED"):
            return failure(-51, "Session is not valid, session is not active paid try.")
        if body.get("amount") != session.amount:
            return failure(-50, "Session is not valid, amounts values is not the same.")
        code = 101 if session.status == "VERIFIED" else 100
        if code == 100:
            session.status, session.ref_id = "VERIFIED", 201_000_000 + len(self.sessions)
        return success(
            {
                "code": code,
                "message": "Verified" if code == 101 else "Paid",
                "card_hash": "0" * 64,
                "card_pan": CARD_PAN,
                "ref_id": session.ref_id,
                "fee_type": "Merchant",
                "fee": 0,
            }
        )

    async def _reverse(self, request: Request) -> Response:
        body = await self._body(request)
        with self._lock:
            found = self._session(body)
            if isinstance(found, Response):
                return found
            if found.status not in ("PAID", "VERIFIED") or found.paid_at is None:
                return failure(-61, "Session is not in success status.")
            if self._now() - found.paid_at > REVERSE_WINDOW:
                return failure(-63, "Maximum time for reverse this session is expired.")
            found.status = "REVERSED"
        return success({"code": 100, "message": "Reversed"})

    async def _inquiry(self, request: Request) -> Response:
        body = await self._body(request)
        with self._lock:
            found = self._session(body)
            if isinstance(found, Response):
                return found
            return success({"code": 100, "message": "Success", "status": found.status})

    async def _start_pay(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["authority"])
        if session is None:
            return PlainTextResponse("Invalid authority", 404)
        return HTMLResponse(f"<h1>ZarinPal (fake)</h1><p>{session.amount} IRR</p>")
