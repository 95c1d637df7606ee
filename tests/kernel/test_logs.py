"""Logs are one JSON object a line, carrying the request id."""

from __future__ import annotations

import json
import logging

from shahr.kernel.logs import JsonFormatter, request_id


def test_a_log_line_is_json_with_the_request_id_and_extra_fields() -> None:
    record = logging.LogRecord("shahr.http", logging.INFO, __file__, 1, "GET %s", ("/",), None)
    record.status = 200
    token = request_id.set("abc123")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "GET /"
    assert entry["request_id"] == "abc123"
    assert entry["status"] == 200
    assert entry["level"] == "info"


def test_persian_text_is_logged_readably() -> None:
    record = logging.LogRecord("shahr", logging.INFO, __file__, 1, "منطقه ۲", None, None)
    assert "منطقه ۲" in JsonFormatter().format(record)
