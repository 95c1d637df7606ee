"""Identity's API models: `XCreate` in, `XOut` out.

Fields the domain checks (phone, code, plate, kind, tier) arrive as plain strings, so the
domain's error, in the user's language and naming the field, is the one the caller sees.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shahr.identity.domain import ApiKey, Citizen, QuotaTier, StaffAccount, Vehicle, VehicleKind
from shahr.kernel.plates import parse_vehicle_plate
from shahr.kernel.principals import Principal

# Generous bounds: the domain gives the real error; these only stop absurd payloads.
Short = Annotated[str, Field(max_length=200)]


class OtpRequestCreate(BaseModel):
    phone: Annotated[str, Field(max_length=40, examples=["0912 123 4567"])]


class OtpRequestOut(BaseModel):
    phone: str = Field(description="The number the code went to, canonical (+98...).")
    expires_at: datetime


class OtpVerifyCreate(BaseModel):
    phone: Annotated[str, Field(max_length=40, examples=["09121234567"])]
    code: Annotated[str, Field(max_length=20, examples=["123456"])]


class CitizenOut(BaseModel):
    id: str
    phone: str
    display_name: str

    @classmethod
    def of(cls, citizen: Citizen) -> CitizenOut:
        return cls(id=citizen.id, phone=citizen.phone, display_name=citizen.display_name)


class CitizenTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  # the scheme, not a secret
    expires_at: datetime
    citizen: CitizenOut


class StaffSignInCreate(BaseModel):
    username: Short
    password: Annotated[str, Field(max_length=1000)]


class StaffOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]

    @classmethod
    def of(cls, staff: StaffAccount) -> StaffOut:
        return cls(
            id=staff.id,
            username=staff.username,
            display_name=staff.display_name,
            roles=sorted(staff.roles),
        )


class StaffTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  # the scheme, not a secret
    expires_at: datetime
    staff: StaffOut


class MeOut(BaseModel):
    id: str
    kind: str
    display_name: str
    roles: list[str]

    @classmethod
    def of(cls, principal: Principal) -> MeOut:
        return cls(
            id=principal.id,
            kind=principal.kind,
            display_name=principal.display_name,
            roles=sorted(principal.roles),
        )


class VehicleCreate(BaseModel):
    plate: Annotated[str, Field(max_length=60, examples=["12 ب 345 ایران 67", "12B345-67"])]
    kind: Annotated[
        str, Field(max_length=20, json_schema_extra={"enum": [k.value for k in VehicleKind]})
    ] = VehicleKind.car.value
    nickname: Annotated[str | None, Field(max_length=200)] = None


class VehicleOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "A citizen's vehicle."})

    id: str
    plate: str = Field(description="Canonical ASCII form, e.g. 12B345-67.")
    plate_fa: str = Field(description="Iranian layout, e.g. ۱۲ ب ۳۴۵ ایران ۶۷.")
    plate_en: str
    kind: VehicleKind
    nickname: str | None
    created_at: datetime

    @classmethod
    def of(cls, vehicle: Vehicle) -> VehicleOut:
        plate = parse_vehicle_plate(vehicle.plate)
        return cls(
            id=vehicle.id,
            plate=vehicle.plate,
            plate_fa=plate.display_fa,
            plate_en=plate.display_en,
            kind=vehicle.kind,
            nickname=vehicle.nickname,
            created_at=vehicle.created_at,
        )


class ApiKeyCreate(BaseModel):
    consumer: Short
    quota_tier: Annotated[
        str, Field(max_length=20, json_schema_extra={"enum": [t.value for t in QuotaTier]})
    ] = QuotaTier.free.value


class ApiKeyOut(BaseModel):
    id: str
    consumer: str
    quota_tier: QuotaTier
    prefix: str
    active: bool
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, api_key: ApiKey) -> ApiKeyOut:
        return cls(
            id=api_key.id,
            consumer=api_key.consumer,
            quota_tier=api_key.quota_tier,
            prefix=api_key.prefix,
            active=api_key.active,
            created_at=api_key.created_at,
            revoked_at=api_key.revoked_at,
        )


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, never stored.")
