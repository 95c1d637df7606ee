"""Identity's JSON API under `/api/v1/identity`, and the request-to-principal resolver."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from shahr.identity import queries, services
from shahr.identity.domain import (
    ApiKeyNotFoundError,
    CodeExpiredError,
    DuplicateVehicleError,
    InvalidApiKeyError,
    InvalidCodeFormatError,
    InvalidNameError,
    InvalidPermitError,
    InvalidPhoneError,
    PermitAlreadyReviewedError,
    PermitNotFoundError,
    PhoneNotReachableError,
    SessionExpiredError,
    SmsUnavailableError,
    TooManyCodeRequestsError,
    TooManyFromAddressError,
    TooManySignInAttemptsError,
    TooManyWrongCodesError,
    VehicleNotFoundError,
    WrongCodeError,
    WrongPasswordError,
)
from shahr.identity.gateways import SMS, SmsGateway
from shahr.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreatedOut,
    ApiKeyOut,
    CitizenOut,
    CitizenTokenOut,
    MeOut,
    OtpRequestCreate,
    OtpRequestOut,
    OtpVerifyCreate,
    StaffOut,
    StaffSignInCreate,
    StaffTokenOut,
    VehicleCreate,
    VehicleOut,
)
from shahr.kernel.access import Admits, PrincipalResolver
from shahr.kernel.clock import Clock
from shahr.kernel.credentials import SESSION_COOKIE
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError, NotSignedInError
from shahr.kernel.plates import InvalidPlateError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.settings import Settings
from shahr.kernel.web.deps import (
    BusDep,
    CacheDep,
    ClientAddressDep,
    ClockDep,
    DatabaseDep,
    RateLimiterDep,
    SettingsDep,
    wired,
)

ERROR_STATUS: dict[type[DomainError], int] = {
    InvalidPhoneError: 400,
    InvalidCodeFormatError: 400,
    InvalidNameError: 400,
    InvalidPlateError: 400,
    WrongCodeError: 400,
    CodeExpiredError: 400,
    TooManyWrongCodesError: 429,
    TooManyCodeRequestsError: 429,
    TooManySignInAttemptsError: 429,
    TooManyFromAddressError: 429,
    WrongPasswordError: 400,
    SessionExpiredError: 401,
    InvalidApiKeyError: 401,
    DuplicateVehicleError: 409,
    VehicleNotFoundError: 404,
    ApiKeyNotFoundError: 404,
    InvalidPermitError: 422,
    PermitNotFoundError: 404,
    PermitAlreadyReviewedError: 409,
    # The SMS provider's trouble, not the caller's: 503 with Retry-After.
    SmsUnavailableError: 503,
    PhoneNotReachableError: 400,
}


def _sms(request: Request) -> SmsGateway:
    return wired(request, SMS)


SmsDep = Annotated[SmsGateway, Depends(_sms)]
AnyCaller = Annotated[Principal | None, Depends(Admits(public=True))]
CitizenCaller = Annotated[Principal | None, Depends(Admits(Role.citizen))]
AdminCaller = Annotated[Principal | None, Depends(Admits(Role.admin))]
MemberCaller = Annotated[Principal | None, Depends(Admits(*Role))]


def required(principal: Principal | None) -> Principal:
    """The guard already refused anonymous callers; this only narrows the type."""
    if principal is None:
        raise NotSignedInError("Please sign in first.")
    return principal


def make_principal_resolver(database: Database, clock: Clock) -> PrincipalResolver:
    """Who a request speaks for: an API key, a bearer token, or the session cookie.

    A request that carries an API key or a bearer token is judged by it alone and never
    falls back to the cookie: such requests skip the CSRF check, so the cookie's ambient
    authority must not ride along. A bad key or token is an error the caller should see;
    a stale cookie only means the browser is signed out.
    """

    async def resolve(request: Request) -> Principal | None:
        api_key = request.headers.get("x-api-key")
        if api_key is not None:
            return await services.principal_for_api_key(database, key=api_key)
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip()
            principal = await services.principal_for_token(database, clock, token=token)
            if principal is None:
                raise SessionExpiredError("Your session has expired. Please sign in again.")
            return principal
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return await services.principal_for_token(database, clock, token=cookie)
        return None

    return resolve


def presented_token(request: Request) -> str:
    """The session token this request carries, by bearer header or cookie."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[len("bearer ") :].strip()
    return request.cookies.get(SESSION_COOKIE, "")


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )


router = APIRouter(prefix="/api/v1/identity", tags=["identity"])


@router.post("/otp/request", status_code=status.HTTP_202_ACCEPTED)
async def request_code(
    body: OtpRequestCreate,
    _principal: AnyCaller,
    database: DatabaseDep,
    clock: ClockDep,
    rate_limiter: RateLimiterDep,
    sms: SmsDep,
    settings: SettingsDep,
    client_address: ClientAddressDep,
) -> OtpRequestOut:
    """Send a one-time sign-in code by SMS to an Iranian mobile number."""
    sent = await services.request_sign_in_code(
        database,
        clock,
        rate_limiter,
        sms,
        settings,
        phone=body.phone,
        client_address=client_address,
    )
    return OtpRequestOut(phone=sent.phone, expires_at=sent.expires_at)


@router.post("/otp/verify")
async def verify_code(
    body: OtpVerifyCreate,
    response: Response,
    _principal: AnyCaller,
    database: DatabaseDep,
    clock: ClockDep,
    bus: BusDep,
    rate_limiter: RateLimiterDep,
    settings: SettingsDep,
    client_address: ClientAddressDep,
) -> CitizenTokenOut:
    """Sign a citizen in with the code; sets the session cookie and returns a bearer token."""
    signed_in = await services.verify_sign_in_code(
        database,
        clock,
        bus,
        rate_limiter,
        settings,
        phone=body.phone,
        code=body.code,
        client_address=client_address,
    )
    set_session_cookie(response, settings, signed_in.token)
    return CitizenTokenOut(
        access_token=signed_in.token,
        expires_at=signed_in.expires_at,
        citizen=CitizenOut.of(signed_in.citizen),
    )


@router.post("/staff/sign-in")
async def staff_sign_in(
    body: StaffSignInCreate,
    response: Response,
    _principal: AnyCaller,
    database: DatabaseDep,
    clock: ClockDep,
    cache: CacheDep,
    rate_limiter: RateLimiterDep,
    settings: SettingsDep,
    client_address: ClientAddressDep,
) -> StaffTokenOut:
    """Sign a staff member in with username and password."""
    signed_in = await services.sign_in_staff(
        database,
        clock,
        cache,
        rate_limiter,
        settings,
        username=body.username,
        password=body.password,
        client_address=client_address,
    )
    set_session_cookie(response, settings, signed_in.token)
    return StaffTokenOut(
        access_token=signed_in.token,
        expires_at=signed_in.expires_at,
        staff=StaffOut.of(signed_in.staff),
    )


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(
    request: Request,
    _principal: AnyCaller,
    database: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Revoke the session (cookie or bearer token); harmless when already signed out."""
    await services.sign_out(database, clock, token=presented_token(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings)
    return response


@router.get("/me")
async def me(principal: MemberCaller) -> MeOut:
    """Who the caller is signed in as, and their roles."""
    return MeOut.of(required(principal))


@router.get("/vehicles")
async def list_vehicles(principal: CitizenCaller, database: DatabaseDep) -> list[VehicleOut]:
    """The signed-in citizen's vehicles."""
    vehicles = await queries.vehicles_of(database, citizen_id=required(principal).id)
    return [VehicleOut.of(vehicle) for vehicle in vehicles]


@router.post("/vehicles", status_code=status.HTTP_201_CREATED)
async def register_vehicle(
    body: VehicleCreate,
    principal: CitizenCaller,
    database: DatabaseDep,
    clock: ClockDep,
    bus: BusDep,
) -> VehicleOut:
    """Register a vehicle by its plate, typed in any usual way."""
    vehicle = await services.register_vehicle(
        database,
        clock,
        bus,
        citizen_id=required(principal).id,
        plate=body.plate,
        kind=body.kind,
        nickname=body.nickname,
    )
    return VehicleOut.of(vehicle)


@router.delete("/vehicles/{vehicle_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_vehicle(
    vehicle_id: str, principal: CitizenCaller, database: DatabaseDep, clock: ClockDep, bus: BusDep
) -> Response:
    """Remove one of the citizen's vehicles."""
    await services.remove_vehicle(
        database, clock, bus, citizen_id=required(principal).id, vehicle_id=vehicle_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api-keys")
async def list_api_keys(_principal: AdminCaller, database: DatabaseDep) -> list[ApiKeyOut]:
    """Every open-data API key (never the key itself)."""
    return [ApiKeyOut.of(api_key) for api_key in await queries.api_keys(database)]


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyCreate, principal: AdminCaller, database: DatabaseDep, clock: ClockDep
) -> ApiKeyCreatedOut:
    """Issue a key for an open-data consumer; the response is the only time it is shown."""
    issued = await services.create_api_key(
        database,
        clock,
        consumer=body.consumer,
        quota_tier=body.quota_tier,
        created_by=required(principal).id,
    )
    return ApiKeyCreatedOut(**ApiKeyOut.of(issued.api_key).model_dump(), key=issued.key)


@router.delete("/api-keys/{key_id}")
async def revoke_api_key(
    key_id: str, _principal: AdminCaller, database: DatabaseDep, clock: ClockDep, bus: BusDep
) -> ApiKeyOut:
    """Revoke a key; requests with it are refused from now on."""
    return ApiKeyOut.of(await services.revoke_api_key(database, clock, bus, key_id=key_id))
