"""The ways a caller proves who it is, as the OpenAPI document names them.

The guard (`kernel.access.Admits`) declares them on every route it protects, so the API
document lists them and Swagger UI's Authorize button fills them in. Who a request speaks
for is still decided in one place, identity's resolver; these only read the credential.
"""

from __future__ import annotations

from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPBearer

# The signed-in browser's session (identity sets it): the one cookie that carries authority.
SESSION_COOKIE = "shahr_session"
API_KEY_HEADER = "X-API-Key"

BEARER = HTTPBearer(
    scheme_name="bearerToken",
    description=(
        "The `access_token` returned by `POST /api/v1/identity/otp/verify` (citizens) or "
        "`POST /api/v1/identity/staff/sign-in` (staff), sent as `Authorization: Bearer <token>`. "
        "Requests with it need no CSRF token."
    ),
    auto_error=False,
)
SESSION = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="sessionCookie",
    description=(
        "The session of a signed-in browser. Requests that change something with it must "
        "also send the page's CSRF token in the `X-CSRF-Token` header."
    ),
    auto_error=False,
)
API_KEY = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="apiKey",
    description="An open-data consumer's key, issued by the city's administrator.",
    auto_error=False,
)
