"""A stand-in for Kavenegar's REST API: a real HTTP server on 127.0.0.1, on a free port.

It speaks the protocol as Kavenegar documents it (https://kavenegar.com/rest.html; the
status table of its SDKs): `GET|POST /v1/{API-KEY}/{scope}/{method}.json`, form or query
parameters, and every answer the envelope `{"return": {"status", "message"}, "entries"}`
whose status the HTTP status repeats. Tests switch the account's troubles on and off
(no credit, a disabled account, a receptor the operators refuse, a proxy in front that is
down, a slow answer) and read what it received.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

# Kavenegar's own words for each status (its documentation's table).
MESSAGES = {
    200: "تایید شد",
    400: "پارامترها ناقص هستند",
    401: "حساب کاربری غیرفعال شده است",
    403: "کد شناسائی API-Key معتبر نمی‌باشد",
    404: "متدی با این نام پیدا نشده است",
    406: "پارامترهای اجباری خالی ارسال شده اند",
    409: "سرور قادر به پاسخگوئی نیست بعدا تلاش کنید",
    411: "شماره گیرنده پیام معتبر نمی‌باشد",
    412: "شماره فرستنده معتبر نمی‌باشد",
    413: "پیام خالی است و یا طول پیام بیش از حد مجاز می‌باشد",
    418: "اعتبار حساب شما کافی نیست",
    424: "الگوی مورد نظر پیدا نشد",
    431: "ساختار کد صحیح نمی‌باشد",
}
REQUIRED = {
    "verify/lookup": ("receptor", "token", "template"),
    "sms/send": ("receptor", "message"),
}
_RECEPTOR = re.compile(r"(?:0|0098|\+98)9[0-9]{9}")
# A token with a space, newline, underscore or separator is refused (431).
_BAD_TOKEN = re.compile(r"[\s_,;|]")
# Kavenegar's limit for a Persian text (268 characters; 612 for Latin).
PERSIAN_MAX = 268
# The server's thread: what it logs is Kavenegar's side, not Shahr's.
THREAD_NAME = "fake-kavenegar"


@dataclass
class Received:
    method: str
    form: dict[str, str]


@dataclass
class FakeKavenegar:
    api_key: str = "fake-kavenegar-key-0123456789"
    templates: set[str] = field(default_factory=lambda: {"shahr-sign-in"})
    senders: set[str] = field(default_factory=lambda: {"10008663"})
    # What it accepted, and everything it was asked (accepted or not).
    received: list[Received] = field(default_factory=list)
    asked: list[Received] = field(default_factory=list)
    # The account's and the network's troubles, switched on by a test.
    out_of_credit: bool = False
    disabled: bool = False
    busy: bool = False
    down: bool = False
    delay_s: float = 0.0
    refused_receptors: set[str] = field(default_factory=set)
    # An accepted message's entry status: 5 is "sent to the operators"; 14 "blocked".
    entry_status: int = 5
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/{key}/{scope}/{method}.json", self._endpoint, methods=["GET", "POST"])
            ]
        )

    async def _endpoint(self, request: Request) -> Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.down:
            # What a proxy in front answers: not Kavenegar's envelope.
            return HTMLResponse("<html><body>502 Bad Gateway</body></html>", status_code=502)
        form = dict(request.query_params)
        if request.method == "POST":
            form.update({k: str(v) for k, v in (await request.form()).items()})
        params = request.path_params
        method = f"{params['scope']}/{params['method']}"
        self.asked.append(Received(method, form))
        status = self._judge(params["key"], method, form)
        if status != 200:
            return _envelope(status, None)
        self.received.append(Received(method, form))
        return _envelope(200, [self._entry(method, form)])

    def _judge(self, key: str, method: str, form: dict[str, str]) -> int:
        if key != self.api_key:
            return 403
        if self.disabled:
            return 401
        if method not in REQUIRED:
            return 404
        if self.busy:
            return 409
        if any(name not in form for name in REQUIRED[method]):
            return 400
        if any(not form[name] for name in REQUIRED[method]):
            return 406
        receptor = form["receptor"]
        if not _RECEPTOR.fullmatch(receptor) or receptor in self.refused_receptors:
            return 411
        if method == "verify/lookup":
            if form["template"] not in self.templates:
                return 424
            if _BAD_TOKEN.search(form["token"]):
                return 431
        else:
            if form.get("sender") and form["sender"] not in self.senders:
                return 412
            if len(form["message"]) > PERSIAN_MAX:
                return 413
        return 418 if self.out_of_credit else 200

    def _entry(self, method: str, form: dict[str, str]) -> dict[str, Any]:
        text = form.get("message") or f"کد ورود شما: {form.get('token')}"
        return {
            "messageid": len(self.received) + 8792343,
            "message": text,
            "status": self.entry_status,
            "statustext": "ارسال به مخابرات",
            "sender": form.get("sender") or "10008663",
            "receptor": form["receptor"],
            "date": int(time.time()),
            "cost": 120,
        }

    def last(self, method: str) -> Received:
        return next(r for r in reversed(self.received) if r.method == method)


def _envelope(status: int, entries: list[dict[str, Any]] | None) -> JSONResponse:
    body = {"return": {"status": status, "message": MESSAGES.get(status, "")}, "entries": entries}
    return JSONResponse(body, status_code=status)


class FakeKavenegarServer:
    """Runs a `FakeKavenegar` under uvicorn in a thread, so the test's loop stays its own."""

    def __init__(self, fake: FakeKavenegar) -> None:
        self.fake = fake
        # uvicorn's logging left as the test found it; its records come from THREAD_NAME.
        config = uvicorn.Config(
            fake.app(), log_config=None, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=THREAD_NAME,
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Kavenegar server did not start")
            time.sleep(0.01)
        host, port = self._socket.getsockname()
        self.fake.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
