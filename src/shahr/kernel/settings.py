"""One settings object: `SHAHR_*` variables, embedded defaults, nothing connects at import."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Unset service URLs mean the embedded adapter (DESIGN.md section 2)."""

    model_config = SettingsConfigDict(env_prefix="SHAHR_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    # A staging city may run production settings on the sandbox bank and the console SMS;
    # only when this says so, and then every page carries a banner (docs/decisions/0034).
    allow_sandbox_in_production: bool = False
    city: str = "tehran"
    demo: bool = False
    var_dir: Path = Path("var")

    database_url: str | None = None
    nats_url: str | None = None
    mqtt_url: str | None = None
    redis_url: str | None = None

    secret_key: SecretStr | None = None
    # Browsers keep Secure cookies off plain http, so the laptop demo turns this off.
    cookie_secure: bool = True
    # The base map: a tile URL template (`https://tiles.example/{z}/{x}/{y}.png`, the city's
    # own tile server or a provider it names) and the attribution its licence asks for. Unset,
    # every map draws the offline base layer made from the city's own data instead.
    tile_url: str | None = None
    tile_attribution: str = ""
    # Where the road cameras' snapshots are served from (`https://cameras.example/snap/`).
    # Pages show them as images, so the CSP lets images come from this host; unset, none.
    camera_image_url: str | None = None
    default_language: Literal["fa", "en"] = "fa"
    max_body_bytes: int = 1_000_000
    # A form carrying a file (a disability permit's photo, at most 2 MB) may be this large.
    max_upload_bytes: int = 3_000_000
    # Scheduled jobs (reconciliation, expiry) run in every process unless turned off; at city
    # scale the web replicas set SHAHR_RUN_JOBS=0 and `shahr worker` processes run them.
    run_jobs: bool = True
    # The demo's simulated devices (meters, the SUMO digital twin) run in a demo process
    # unless turned off: tests turn them off and still get the jobs and the meter gateway.
    run_simulators: bool = True
    # Runs the city this many seconds ahead of the real clock (kernel.clock.ShiftedClock):
    # only for a demo or a browser test that must be in working hours at any hour.
    clock_shift_s: int = 0

    otp_ttl_s: int = 120
    otp_length: int = 6
    otp_max_attempts: int = 5
    otp_lockout_s: int = 900
    otp_requests_per_window: int = 3
    otp_request_window_s: int = 600
    # Staff password tries per username in a window of `staff_lockout_s`, counted before the
    # check; past them the username is refused until the window ends.
    staff_failures_allowed: int = 5
    staff_lockout_s: int = 900
    # Sign-in requests one client address may make per `sign_in_address_window_s`, and per
    # address and phone or username (docs/decisions/0030). Carrier NAT puts many phones
    # behind one address, so the per-address limits are loose and the per-account ones tight.
    sign_in_address_window_s: int = 600
    otp_requests_per_address: int = 20
    otp_verifies_per_address: int = 60
    otp_verifies_per_address_and_phone: int = 10
    staff_sign_ins_per_address: int = 30
    staff_sign_ins_per_address_and_username: int = 10
    # The reverse proxies whose X-Forwarded-For names the client (addresses or networks,
    # comma-separated; `shahr serve` hands them to uvicorn). Empty trusts no header.
    trusted_proxies: str = "127.0.0.1,::1"
    # Redis connections per process; a burst waits up to the timeout for a free one.
    redis_max_connections: int = 50
    redis_pool_timeout_s: float = 5.0
    session_ttl_s: int = 7 * 24 * 3600
    # Who sends the texts: "console" prints them (development, the demo; a sandbox that
    # production refuses), "kavenegar" sends them through Kavenegar's REST API: sign-in codes
    # by the OTP template approved in its panel (with a %token% field), other texts from the
    # sender line, or the account's default line when unset (docs/decisions/0029).
    sms_provider: Literal["console", "kavenegar"] = "console"
    kavenegar_api_key: SecretStr | None = None
    kavenegar_otp_template: str = ""
    kavenegar_sender: str = ""
    kavenegar_base_url: str = "https://api.kavenegar.com"
    # The site's address as citizens reach it (`https://shahr.tehran.ir`), for links sent by
    # SMS; empty, such links are sent as paths on the site.
    public_url: str = ""

    # The payment gateway (docs/decisions/0028): the sandbox bank, or ZarinPal with the
    # merchant id ZarinPal issued to the city. ZarinPal sends the payer back to an absolute
    # address, so it also needs SHAHR_PUBLIC_URL.
    payment_provider: Literal["sandbox", "zarinpal"] = "sandbox"
    zarinpal_merchant_id: SecretStr | None = None
    zarinpal_base_url: str = "https://payment.zarinpal.com"
    # How long a call to ZarinPal may take before it counts as not answered.
    zarinpal_timeout_s: float = 10.0

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key is None:
            raise ValueError("SHAHR_SECRET_KEY must be set in production")
        if self.environment == "production" and self.clock_shift_s:
            raise ValueError("SHAHR_CLOCK_SHIFT_S is for demos and tests, never production")
        tiles = self.tile_url
        if tiles and self.environment == "production" and not tiles.startswith("https://"):
            # An http tile on an https page is mixed content: browsers block it, and a proxy
            # on the way could swap the city's map for its own.
            raise ValueError(
                f"SHAHR_TILE_URL must be an https:// address in production, not {tiles!r}"
            )
        if tiles and not _is_tile_template(tiles):
            raise ValueError(
                f"SHAHR_TILE_URL must be a template with {{z}}, {{x}} and {{y}}, not {tiles!r}"
            )
        cameras = self.camera_image_url
        if cameras and self.environment == "production" and not cameras.startswith("https://"):
            raise ValueError(
                f"SHAHR_CAMERA_IMAGE_URL must be an https:// address in production, not {cameras!r}"
            )
        for name, url in (("SHAHR_TILE_URL", tiles), ("SHAHR_CAMERA_IMAGE_URL", cameras)):
            if url:
                image_origin(url, name=name)  # refuses what no CSP source could name
        return self

    @model_validator(mode="after")
    def _a_real_gateway_needs_its_credentials(self) -> Settings:
        if self.payment_provider != "zarinpal":
            return self
        merchant = self.zarinpal_merchant_id
        if merchant is None or not merchant.get_secret_value().strip():
            raise ValueError(
                "SHAHR_PAYMENT_PROVIDER=zarinpal needs SHAHR_ZARINPAL_MERCHANT_ID, the merchant"
                " id ZarinPal issued to the city"
            )
        if not self.public_url.startswith(("https://", "http://")):
            raise ValueError(
                "SHAHR_PAYMENT_PROVIDER=zarinpal needs SHAHR_PUBLIC_URL (https://...), the"
                " address ZarinPal sends payers back to"
            )
        # Plain http only for a local fake of ZarinPal: the merchant id travels in the body.
        schemes = ("https://",) if self.environment == "production" else ("https://", "http://")
        if not self.zarinpal_base_url.startswith(schemes):
            raise ValueError(
                f"SHAHR_ZARINPAL_BASE_URL must be an {' or '.join(schemes)} address, not"
                f" {self.zarinpal_base_url!r}"
            )
        if self.zarinpal_timeout_s <= 0:
            raise ValueError("SHAHR_ZARINPAL_TIMEOUT_S must be more than zero")
        return self

    @model_validator(mode="after")
    def _sms_provider_has_its_account(self) -> Settings:
        if self.sms_provider != "kavenegar":
            return self
        if self.kavenegar_api_key is None or not self.kavenegar_api_key.get_secret_value():
            raise ValueError("SHAHR_SMS_PROVIDER=kavenegar needs SHAHR_KAVENEGAR_API_KEY")
        if not self.kavenegar_otp_template:
            raise ValueError(
                "SHAHR_SMS_PROVIDER=kavenegar needs SHAHR_KAVENEGAR_OTP_TEMPLATE: the name of"
                " the sign-in template approved in Kavenegar's panel, with a %token% field"
            )
        base = self.kavenegar_base_url
        if self.environment == "production" and not base.startswith("https://"):
            # The API key travels in the URL's path: only over TLS.
            raise ValueError(
                f"SHAHR_KAVENEGAR_BASE_URL must be https:// in production, not {base!r}"
            )
        return self

    @property
    def image_origins(self) -> list[str]:
        """Where pages may load images from besides the site itself: tiles and cameras."""
        named = (
            ("SHAHR_TILE_URL", self.tile_url),
            ("SHAHR_CAMERA_IMAGE_URL", self.camera_image_url),
        )
        return sorted({image_origin(url, name=name) for name, url in named if url})

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL: the SQLite file under `var/` unless a database is named."""
        url = self.database_url
        if not url:
            return f"sqlite+aiosqlite:///{self.var_dir / 'shahr.db'}"
        if url.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
        return url

    @cached_property
    def signing_key(self) -> str:
        """The secret for cookies and tokens; in development, one kept under `var/`."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        key_file = self.var_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


def image_origin(url: str, *, name: str) -> str:
    """The CSP source for images at `url`: its scheme and host (and port); a tile template's
    `{s}` subdomain becomes `*.`, the only wildcard a CSP host may carry."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    first, dot, rest = host.partition(".")
    if "{" in first and dot:
        host = f"*.{rest}"
    if parts.scheme not in ("http", "https") or not host or "{" in host or "}" in host:
        raise ValueError(
            f"{name} must be an http(s) address whose host is fixed "
            f"(a tile server's {{s}} may only start it), not {url!r}"
        )
    return f"{parts.scheme}://{host}"


def _is_tile_template(url: str) -> bool:
    """Whether Leaflet can fill in `url` for each tile: it names the zoom and both axes."""
    return "{z}" in url and "{x}" in url and ("{y}" in url or "{-y}" in url)
