"""The API document is the API: every answer is one the document declares, and none is a 5xx.

Schemathesis generates calls from the document itself (every operation; valid and invalid
input; methods the address does not take) and checks each answer against it: its status,
media type, headers and body. It runs on both databases, signed in as a citizen and as
staff (docs/decisions/0032). The document does not depend on the database or the caller, so
it is read once, from an app that is never started.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from shahr import bootstrap
from shahr.web import create_app

from .conftest import Caller, contract_settings

# Examples per operation in the fuzzing phase; the coverage phase adds its own (boundary
# values, missing parameters, undeclared methods). Ten keep CI's run near three minutes on
# two cores (decision 0032); a deeper search locally sets SHAHR_TEST_CONTRACT_EXAMPLES.
EXAMPLES_PER_OPERATION = int(os.environ.get("SHAHR_TEST_CONTRACT_EXAMPLES", "10"))
SIGN_OUT = "/api/v1/identity/sign-out"
load_all_checks()
CHECKED = CHECKS.get_by_names(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "unsupported_method",
        "allow_header_conformance",
    ]
)


def _document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as var_dir:
        settings = contract_settings(f"sqlite:///{var_dir}/unused.db", Path(var_dir))
        return create_app(bootstrap.build(settings)).openapi()


schema = schemathesis.openapi.from_dict(_document())
# A live stream never ends; its first event is enough to check its type and shape.
schema.config.max_stream_events = 1


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented(case: schemathesis.Case, caller: Caller) -> None:
    # Signing out would end the session every later call rides on (and signing in again
    # soon meets the code's rate limit), so that one call goes without it.
    headers = {} if case.operation.path == SIGN_OUT else caller.headers
    case.call_and_validate(app=caller.app, headers=headers, checks=CHECKED, timeout=5)
