"""Identity's use cases, one function each, split by concept.

Entry points and other areas import from here: `from shahr.identity import services`.
"""

from shahr.identity.services.accounts import ensure_citizen, ensure_staff_account
from shahr.identity.services.api_keys import (
    IssuedApiKey,
    create_api_key,
    principal_for_api_key,
    revoke_api_key,
)
from shahr.identity.services.codes import (
    CodeSent,
    request_sign_in_code,
    verify_sign_in_code,
)
from shahr.identity.services.hashing import hash_code, hash_password, hash_token
from shahr.identity.services.permits import review_permit, submit_permit
from shahr.identity.services.sessions import (
    CitizenSignedIn,
    StaffSignedIn,
    principal_for_token,
    sign_out,
)
from shahr.identity.services.staff import locked_out_for_s, sign_in_staff
from shahr.identity.services.vehicles import register_vehicle, remove_vehicle

__all__ = [
    "CitizenSignedIn",
    "CodeSent",
    "IssuedApiKey",
    "StaffSignedIn",
    "create_api_key",
    "ensure_citizen",
    "ensure_staff_account",
    "hash_code",
    "hash_password",
    "hash_token",
    "locked_out_for_s",
    "principal_for_api_key",
    "principal_for_token",
    "register_vehicle",
    "remove_vehicle",
    "request_sign_in_code",
    "review_permit",
    "revoke_api_key",
    "sign_in_staff",
    "sign_out",
    "submit_permit",
    "verify_sign_in_code",
]
