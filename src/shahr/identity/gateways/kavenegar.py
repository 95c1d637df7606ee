"""The Kavenegar adapter: sign-in codes by its verify lookup template, other texts by sms/send.

The protocol as Kavenegar documents it (https://kavenegar.com/rest.html; docs/decisions/0029):
`POST {base}/v1/{API-KEY}/{scope}/{method}.json`, form-encoded; every answer is
`{"return": {"status": N, "message": "..."}, "entries": [...]}`, N = 200 meaning accepted,
and on an error the HTTP status repeats N. The API key is part of the path, so no URL of
this client may reach a log: httpx's own request line is filtered (`_WithoutKey`).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from shahr.identity.domain import phone_not_reachable, sms_unavailable
from shahr.kernel.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.kavenegar.com"
ACCEPTED = 200
RECEPTOR_NOT_VALID = 411

# `return.status` as Kavenegar documents it, in the words the operator's log gets. Only 411
# is the citizen's to fix (with another number); the rest are the operator's or Kavenegar's.
PROVIDER_STATUS: dict[int, str] = {
    400: "a parameter is missing",
    401: "the account is disabled",
    402: "the operation failed",
    403: "the API key is not valid",
    404: "no such method",
    405: "wrong HTTP method",
    406: "a required parameter is empty",
    407: "this server's address may not use the account",
    409: "Kavenegar cannot answer now",
    411: "the receptor is not a valid number",
    412: "the sender line is not valid",
    413: "the message is empty or too long",
    414: "too many receptors in one request",
    416: "this server's address does not match the account's",
    417: "the send date is not valid",
    418: "the account is out of credit",
    419: "receptor, message and sender arrays differ in length",
    422: "the text has characters Kavenegar cannot process",
    424: "the OTP template is not found or not approved",
    426: "the method needs Kavenegar's advanced service",
    428: "a code by voice call must be digits only",
    431: "the token has a space, newline, underscore or separator",
    432: "the template has no %token% field",
}
# Passing trouble: a warning. Anything else stops every sign-in until someone acts (a key,
# the credit, the template), so it is an error an alert can watch for.
_TRANSIENT = frozenset({409})
# An accepted message's entry status that means it will not arrive: 6 the line failed it,
# 11 undelivered, 13 cancelled, 14 blocked by the receptor.
_LOST = frozenset({6, 11, 13, 14})


class KavenegarSms:
    """The SMS port over Kavenegar's REST API; one connection pool for the process."""

    def __init__(
        self,
        *,
        api_key: str,
        otp_template: str,
        sender: str = "",
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 8.0,
    ) -> None:
        self._otp_template = otp_template
        self._sender = sender
        # A citizen waits on the sign-in page meanwhile: fail in seconds, not minutes.
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0))
        self._client = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/v1/{api_key}/",
            timeout=timeout,
            headers={"Accept": "application/json"},
        )
        _hide_from_httpx_log(api_key)

    @classmethod
    def from_settings(cls, settings: Settings) -> KavenegarSms:
        key = settings.kavenegar_api_key
        return cls(
            api_key=key.get_secret_value() if key is not None else "",
            otp_template=settings.kavenegar_otp_template,
            sender=settings.kavenegar_sender,
            base_url=settings.kavenegar_base_url,
        )

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self._client.aclose()

    async def send_code(self, phone: str, code: str) -> None:
        # The template (approved in Kavenegar's panel) holds the words; `token` fills it.
        form = {"receptor": receptor(phone), "token": code, "template": self._otp_template}
        await self._call("verify/lookup.json", form)

    async def send(self, phone: str, text: str) -> None:
        form = {"receptor": receptor(phone), "message": text}
        if self._sender:
            # Without a sender Kavenegar uses the account's default line.
            form["sender"] = self._sender
        await self._call("sms/send.json", form)

    async def _call(self, method: str, form: dict[str, str]) -> None:
        """POST one request; return if Kavenegar took the message, else raise what to tell."""
        # Neither the form (a number, a code) nor the URL (the key) may reach a log, so
        # errors are logged by type and the httpx exception is not chained.
        try:
            response = await self._client.post(method, data=form)
        except httpx.TimeoutException:
            log.warning("Kavenegar did not answer %s in time", method)
            raise sms_unavailable() from None
        except httpx.HTTPError as error:
            log.warning("Kavenegar could not be reached for %s (%s)", method, type(error).__name__)
            raise sms_unavailable() from None
        body = _json(response)
        status = _return_status(body)
        if status == ACCEPTED and not _lost(body):
            return
        if status == RECEPTOR_NOT_VALID:
            log.info("Kavenegar refused the receptor for %s (status 411)", method)
            raise phone_not_reachable()
        _log_refusal(method, status, response.status_code, lost=status == ACCEPTED)
        raise sms_unavailable()


def receptor(phone: str) -> str:
    """The number as Kavenegar's examples write it: `+989121234567` as `09121234567`."""
    return "0" + phone.removeprefix("+98")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        # A proxy's or load balancer's error page, not Kavenegar's envelope.
        return None


def _return_status(body: Any) -> int | None:
    answer = body.get("return") if isinstance(body, dict) else None
    status = answer.get("status") if isinstance(answer, dict) else None
    return status if isinstance(status, int) else None


def _lost(body: Any) -> bool:
    entries = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return False
    return any(isinstance(e, dict) and e.get("status") in _LOST for e in entries)


def _log_refusal(method: str, status: int | None, http_status: int, *, lost: bool) -> None:
    if lost:
        meaning = "accepted, but the entry says it will not be delivered"
    elif status is None:
        meaning = "no Kavenegar envelope in the answer"
    else:
        meaning = PROVIDER_STATUS.get(status, "a status Kavenegar does not document")
    passing = status is None or status in _TRANSIENT or http_status >= 500
    log.log(
        logging.WARNING if passing else logging.ERROR,
        "Kavenegar refused %s: status %s, %s",
        method,
        status,
        meaning,
        extra={"provider_status": status, "http_status": http_status},
    )


class _WithoutKey(logging.Filter):
    """Blanks the API key out of httpx's request lines, which name the whole URL."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def filter(self, record: logging.LogRecord) -> bool:
        if self.key and isinstance(record.args, tuple):
            record.args = tuple(
                str(arg).replace(self.key, "***")
                if not isinstance(arg, int) and self.key in str(arg)
                else arg
                for arg in record.args
            )
        if self.key and isinstance(record.msg, str):
            record.msg = record.msg.replace(self.key, "***")
        return True


def _hide_from_httpx_log(key: str) -> None:
    # httpx logs "HTTP Request: POST <url>" at INFO on its own logger; a filter there sees
    # each such record before any handler does. Added once per key, however many adapters.
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _WithoutKey) and f.key == key for f in httpx_log.filters):
        httpx_log.addFilter(_WithoutKey(key))
