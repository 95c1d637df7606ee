"""The OpenAPI document's security schemes, all of them, in one place.

Each operation's requirement comes from its guard (`kernel.access.Admits`), and FastAPI
lists a scheme only once an operation uses it; a way to sign a call that no route takes yet
(open-data API keys) is still part of the API a client is told about.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder

from shahr.kernel.credentials import API_KEY, BEARER, SESSION


def declare_every_credential(app: FastAPI) -> None:
    """Make `app.openapi()` name every security scheme, used by an operation or not."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
            for credential in (BEARER, SESSION, API_KEY):
                schemes.setdefault(
                    credential.scheme_name,
                    jsonable_encoder(credential.model, by_alias=True, exclude_none=True),
                )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it
