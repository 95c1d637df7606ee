"""Structured JSON logs, one object a line, each carrying the request id it belongs to."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

request_id: ContextVar[str] = ContextVar("request_id", default="")

# LogRecord's own attributes; anything else passed in `extra=` is written as a field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := request_id.get():
            entry["request_id"] = rid
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)

    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802  # logging's name
        """Where it failed and what type of error, never the error's words.

        A driver's message quotes what it was given (a statement's values, PostgreSQL's
        DETAIL with a key's value: a plate, a phone number); the frames are enough to find
        the bug, and no request's data reaches the log this way (decision 0031).
        """
        error = ei[1]
        chain: list[BaseException] = []
        while error is not None and error not in chain:
            chain.append(error)
            error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        lines: list[str] = []
        for failure in reversed(chain):
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_list(traceback.extract_tb(failure.__traceback__)))
            kind = type(failure)
            lines.append(f"{kind.__module__}.{kind.__qualname__}\n")
        return "".join(lines).rstrip("\n")


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's records to stdout as JSON (called by the CLI, not at import)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
