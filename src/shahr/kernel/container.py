"""The container a process runs on: the kernel's ports, and what each area wires onto it.

Bootstrap builds the ports from settings and then calls each area's `wire_<area>()` in
order (docs/decisions/0018). An area names each part it wires with a typed key, a `Part`
(as aiohttp's `AppKey` does), puts it on the container (`provide`) and finds it there from
its entry points (`get`): a lookup's type is the part's, and a part nobody wired fails
loudly, by name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

from shahr.kernel.access import PrincipalResolver
from shahr.kernel.bus import EventBus
from shahr.kernel.cache import Cache, RateLimiter
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.mqtt import DeviceBroker
from shahr.kernel.schedule import Every
from shahr.kernel.settings import Settings
from shahr.kernel.stream import Stream
from shahr.kernel.workspace import Workspace

T = TypeVar("T")


class Background(Protocol):
    """Something that runs beside the app for the process's lifetime."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Part(Generic[T]):
    """The typed name of one part an area wires: `SMS: Part[SmsGateway] = Part("identity.sms")`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Part({self.name!r})"


class NotWiredError(LookupError):
    """A part was asked for that no area wired into this process."""


class StartupRefusedError(RuntimeError):
    """The process must not start as configured; the message says what to change."""


@dataclass
class Container:
    """Everything a process needs, built from settings; started and stopped as one."""

    settings: Settings
    clock: Clock
    database: Database
    stream: Stream
    bus: EventBus
    broker: DeviceBroker
    cache: Cache
    rate_limiter: RateLimiter
    # Who a request speaks for: identity wires it; the kernel's guard asks it.
    resolve_principal: PrincipalResolver | None = None
    # Long-running parts (device gateways, simulators, scheduled jobs), started after the
    # ports in the order they were added and stopped before them in reverse.
    background: list[Background] = field(default_factory=list)
    # The staff screens each area serves, listed by role in the staff shell.
    workspace: Workspace = field(default_factory=Workspace)
    # What this process runs that only pretends (a test bank, codes printed to a terminal):
    # production refuses to start with any of it (`refuse_sandbox_in_production`).
    sandboxes: list[str] = field(default_factory=list)
    _parts: dict[Part[Any], object] = field(default_factory=dict, repr=False)
    _background_started: int = field(default=0, repr=False)
    _ready: bool = field(default=False, repr=False)

    def provide(self, key: Part[T], part: T, *, replace: bool = False) -> None:
        """Wire `part` under `key` (an area's ports, a gateway...), once per process unless
        `replace` says this swaps the adapter (a test's stand-in)."""
        if key in self._parts and not replace:
            raise ValueError(f"{key.name} is wired already")
        self._parts[key] = part

    def get(self, key: Part[T]) -> T:
        """The part wired under `key`; `NotWiredError` if none was."""
        try:
            return cast(T, self._parts[key])
        except KeyError:
            raise NotWiredError(f"{key.name} is not wired in this process") from None

    def find(self, key: Part[T]) -> T | None:
        """The part wired under `key`, or None where this process does not run it."""
        return cast(T | None, self._parts.get(key))

    def declare_sandbox(self, what: str) -> None:
        """Say that an adapter wired here stands in for a real provider; `what` names it and
        the setting that picked it, for the message a production start-up prints."""
        self.sandboxes.append(what)

    @property
    def is_staging(self) -> bool:
        """Production settings running on sandboxes, as `allow_sandbox_in_production` let
        it: every page says so."""
        return self.settings.environment == "production" and bool(self.sandboxes)

    def refuse_sandbox_in_production(self) -> None:
        """Refuse to start a production process on a sandbox, unless staging is allowed."""
        settings = self.settings
        if settings.environment != "production" or not self.sandboxes:
            return
        if settings.allow_sandbox_in_production:
            return
        raise StartupRefusedError(
            "production will not start on test adapters: "
            + "; ".join(self.sandboxes)
            + ". Choose real providers (SHAHR_PAYMENT_PROVIDER, SHAHR_SMS_PROVIDER), or set"
            " SHAHR_ALLOW_SANDBOX_IN_PRODUCTION=1 for a staging city."
        )

    def every(self, name: str, interval_s: float, job: Callable[[], Awaitable[Any]]) -> None:
        """Run `job` every `interval_s` seconds beside the app (where jobs run)."""
        self.background.append(Every(name, interval_s, job))

    @property
    def started(self) -> bool:
        """Every part has started: the process is ready to serve."""
        return self._ready

    async def start(self) -> None:
        """Start the ports, then the background parts in order; a call after a failure (the
        database was down) goes on from the part that failed."""
        await self.stream.start()
        await self.bus.start()
        for part in self.background[self._background_started :]:
            await part.start()
            self._background_started += 1
        self._ready = True

    async def stop(self) -> None:
        started, self._background_started, self._ready = self._background_started, 0, False
        for part in reversed(self.background[:started]):
            await part.stop()
        await self.bus.stop()
        await self.stream.stop()
        await self.broker.stop()
        await self.cache.stop()
        await self.database.dispose()
