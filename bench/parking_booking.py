"""Booking a bay through HTTP, paid from the wallet: 64 clients flat out, then 100 a second.

Claims (issue 7): on PostgreSQL, from one server process, at least 300 confirmed bookings/s
with at most 2.5 ms of server CPU per confirmed booking, and the ratio to the same booking
done as raw SQL in the same run; at a paced 100 bookings/s, p99 under 50 ms; with 64
clients on 10 bays, zero overlaps on both databases.

What runs: a real `shahr serve` (one process, demo mode, no jobs or simulators) on a fresh
PostgreSQL database. Citizens sign in through the one-time code (distinct 0912 phones) and
each registers a car. A booking is

    POST /quotes -> POST /reservations (method wallet)

and the answer says confirmed: hold, wallet debit and confirmation commit in one
transaction (decision 0017); `PaymentVerified` still goes out on the bus, and parking
ignores a wallet payment there. Its latency runs from the quote to "confirmed" seen. Every
demo wallet starts with 2,000,000 Rial (about 20-30 one-hour stays), so the clients are lent
citizens from one queue and take the next when a wallet is short. The loads start once the
server is idle after the sign-ins (each leaves the demo wallet's credit on the bus), and a
load's clock starts once its clients are built.

- **Closed loop**: 64 async clients (httpx, keep-alive, bearer tokens), each with its own
  bays and windows so they never collide, book one after another for `--duration`,
  `--runs` times; the rate is the median run's, p50/p99 over all runs. Then, as the brief
  words it, a second flow: reserve (card), then `POST /reservations/{id}/pay` with method
  wallet (one transaction too: the held reservation is locked, paid and confirmed).
- **Paced (open loop)**: bookings start on a timetable, 100 a second for `--duration`,
  each at its slot whatever the answers before it (up to 32 connections, as many as are
  busy at once); a booking's latency runs from its slot, so time spent waiting for a free
  connection counts. The achieved rate is given beside p50/p99.
- Beside each load: the server's CPU per confirmed booking and how long it waited for a
  core, the figures that move least with the neighbours on this shared machine.

The raw-SQL baseline writes the same rows a booking writes (copied, column for column,
from a booking the server made in this run: parking_reservation, payments_account,
payments_transaction, two payments_entry, payments_order, parking_reservation_payment)
with asyncpg from 64 connections, in the app's one transaction and with its statements:
the hold (`INSERT ... SELECT ... WHERE NOT EXISTS (a holding row over the window) ON
CONFLICT DO NOTHING RETURNING id`), the two accounts made sure of (`ON CONFLICT DO
NOTHING`), the wallet locked `FOR UPDATE`, the ledger transaction (`ON CONFLICT
(idempotency_key) DO NOTHING RETURNING id`), the balance debited, the entries, the
entries' sum checked, the order, the payment's record, one commit. It runs on windows far
in the future, once the server has stopped (its pool and these 64 connections would pass
PostgreSQL's max_connections).

The overlap check: 64 clients (each its own citizen) book random overlapping windows on the
same 10 bays for a few seconds; then the database is asked for any two holding
(pending/confirmed) reservations of one bay that overlap. On PostgreSQL and SQLite.

The load generator is Python in this process: it competes with the server (and, for the
baseline, with PostgreSQL) for the machine's 2 shared cores.

    .venv/bin/python bench/parking_booking.py [--duration 15] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import re
import sqlite3
import ssl
import statistics
import sys
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import postgres_url, running_server, save
from shahr.payments.domain import wallet_account

CLIENTS = 64
# Enough wallets for about 20,000 bookings (a demo wallet pays for 20-30 stays).
CITIZENS_PER_CLIENT = 12
PACED_RATE_PER_S = 100
PACED_CONNECTIONS = 32
PACED_CITIZENS = 64
OVERLAP_BAYS = 10
OVERLAP_S = 6.0
TEHRAN = ZoneInfo("Asia/Tehran")
# Hours (Tehran time) a one-hour stay may start at: inside every demo zone's hours.
HOURS = range(7, 21)
HOLDING = ("pending", "confirmed")
OVERLAPS_SQL = """
    SELECT count(*) FROM parking_reservation a JOIN parking_reservation b
      ON a.bay_id = b.bay_id AND a.id < b.id
     AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
    WHERE a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')
"""


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- citizens --------------------------------------------------------------------------------


@dataclass
class Citizen:
    phone: str
    plate: str
    token: str = ""
    exhausted: bool = False


def plate_of(n: int) -> str:
    return f"{11 + n // 900 % 89:02d}B{100 + n % 900:03d}-{20 + n % 70:02d}"


async def sign_in(http: httpx.AsyncClient, var_dir: Path, citizen: Citizen) -> None:
    """The one-time code flow, as `harness.citizen_token`, then one car on the account."""
    page = await http.get("/sign-in")
    csrf = {"x-csrf-token": page.cookies.get("shahr_csrf") or ""}
    answer = await http.post(
        "/api/v1/identity/otp/request", json={"phone": citizen.phone}, headers=csrf
    )
    answer.raise_for_status()
    code = None
    outbox = (var_dir / "sms-outbox.jsonl").read_text(encoding="utf-8").splitlines()
    for line in reversed(outbox):  # concurrent sign-ins: the newest message to this phone
        message = json.loads(line)
        if re.sub(r"\D", "", message["to"])[-9:] == citizen.phone[-9:]:
            code = re.findall(r"\d{4,8}", message["text"])[-1]
            break
    assert code is not None, f"no code sent to {citizen.phone}"
    answer = await http.post(
        "/api/v1/identity/otp/verify",
        json={"phone": citizen.phone, "code": code},
        headers=csrf,
    )
    answer.raise_for_status()
    citizen.token = answer.json()["access_token"]
    answer = await http.post(
        "/api/v1/identity/vehicles",
        json={"plate": citizen.plate, "kind": "car"},
        headers={"authorization": f"Bearer {citizen.token}"},
    )
    answer.raise_for_status()


async def sign_in_all(base: str, var_dir: Path, citizens: list[Citizen]) -> None:
    queue = list(citizens)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while queue:
                citizen = queue.pop()
                http.cookies.clear()
                await sign_in(http, var_dir, citizen)

    await asyncio.gather(*(worker() for _ in range(16)))


# --- bays and windows --------------------------------------------------------------------------


@dataclass(frozen=True)
class Bay:
    id: int
    meter_id: int


async def car_bays(database_url: str | None, var_dir: Path) -> list[Bay]:
    query = (
        "SELECT b.id, b.meter_id FROM parking_bay b JOIN parking_meter m ON m.id = b.meter_id"
        " WHERE b.kind = 'car' AND b.in_service ORDER BY m.street_class DESC, b.id"
    )
    if database_url is None:
        with sqlite3.connect(var_dir / "shahr.db") as db:
            return [Bay(*row) for row in db.execute(query)]
    connection = await asyncpg.connect(database_url)
    try:
        return [Bay(row[0], row[1]) for row in await connection.fetch(query)]
    finally:
        await connection.close()


def window(day: date, hour: int, minutes: int = 60) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=TEHRAN)
    return start.isoformat(), (start + timedelta(minutes=minutes)).isoformat()


async def open_days(base: str, citizen: Citizen, bay: Bay) -> list[date]:
    """The next days (within the week bookings may be made) a zone takes bookings on."""
    today = datetime.now(TEHRAN).date()
    days = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for ahead in range(1, 7):
            day = today + timedelta(days=ahead)
            starts_at, ends_at = window(day, 12)
            answer = await http.post(
                "/api/v1/parking/quotes",
                json={
                    "bay_id": bay.id,
                    "plate": citizen.plate,
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                },
                headers={"authorization": f"Bearer {citizen.token}"},
            )
            if answer.status_code == 201:
                days.append(day)
    return days


# --- the HTTP booking --------------------------------------------------------------------------


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    reservation_ids: list[str] = field(default_factory=list)
    polls: int = 0
    steps: dict[str, list[float]] = field(default_factory=dict)

    def step(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.steps.setdefault(name, []).append((now - since) * 1000)
        return now


class Wallets:
    """Signed-in citizens, each lent to one client at a time, until their wallet is short.

    A demo wallet holds 20-30 stays: a fast client goes through several, and lending them
    from one queue keeps every client booking until all are spent.
    """

    def __init__(self, citizens: list[Citizen]) -> None:
        self._left = deque(citizens)

    def lend(self) -> Citizen | None:
        return self._left.popleft() if self._left else None

    def give_back(self, citizen: Citizen) -> None:
        if not citizen.exhausted:
            self._left.appendleft(citizen)

    def __len__(self) -> int:
        return len(self._left)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client (the server is plain http): httpx builds one per
    client otherwise, some 30 ms of the load generator's CPU each."""
    return ssl.create_default_context()


class Booker:
    """One client: its keep-alive connection, one citizen lent at a time, one booking at a
    time."""

    def __init__(
        self, base: str, wallets: Wallets, flow: str, *, wait_confirmed: bool = True
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base,
            timeout=30,
            limits=httpx.Limits(max_connections=1),
            verify=tls_context(),
        )
        self.wallets = wallets
        self.current: Citizen | None = None
        self.flow = flow
        self.wait_confirmed = wait_confirmed

    def citizen(self) -> Citizen | None:
        while self.current is None or self.current.exhausted:
            self.current = self.wallets.lend()
            if self.current is None:
                return None
        return self.current

    async def close(self) -> None:
        if self.current is not None:
            self.wallets.give_back(self.current)
        await self.http.aclose()

    async def book(
        self, bay_id: int, starts_at: str, ends_at: str, tally: Tally, *, since: float | None = None
    ) -> str:
        """One booking; answers its outcome (`confirmed`, `taken`, `no-money`, or a status).

        Its latency runs from `since` (a paced booking's slot) or from the quote.
        """
        citizen = self.citizen()
        if citizen is None:
            return "no-citizen-left"
        auth = {"authorization": f"Bearer {citizen.token}"}
        t0 = t = time.perf_counter()
        quote = await self.http.post(
            "/api/v1/parking/quotes",
            json={
                "bay_id": bay_id,
                "plate": citizen.plate,
                "starts_at": starts_at,
                "ends_at": ends_at,
            },
            headers=auth,
        )
        if quote.status_code != 201:
            return f"quote {quote.status_code}"
        t = tally.step("quote", t)
        outcome, reservation = await self._reserve(citizen, quote.json(), auth)
        if reservation is None:
            return outcome
        t = tally.step("reserve", t)
        if not self.wait_confirmed:
            return "held"
        if self.flow == "reserve-then-pay":
            outcome = await self._pay(citizen, reservation["id"], auth)
            if outcome != "paid":
                return outcome
            t = tally.step("pay", t)
        status = reservation["status"] if self.flow == "reserve-wallet" else "pending"
        status = await self._until_confirmed(reservation["id"], status, auth, tally)
        if status != "confirmed":
            return f"not confirmed ({status})"
        tally.step("until confirmed", t)
        tally.latencies_ms.append((time.perf_counter() - (since or t0)) * 1000)
        tally.reservation_ids.append(reservation["id"])
        return "confirmed"

    async def _reserve(
        self, citizen: Citizen, quote: dict[str, Any], auth: dict[str, str]
    ) -> tuple[str, dict[str, Any] | None]:
        """POST /reservations for a quote: (outcome, the reservation if one was made)."""
        reserved = await self.http.post(
            "/api/v1/parking/reservations",
            json={
                "quote_token": quote["quote_token"],
                "amount_rial": quote["price"]["total_rial"],
                "method": "wallet" if self.flow == "reserve-wallet" else "psp",
            },
            headers=auth,
        )
        if reserved.status_code == 409:
            code = reserved.json().get("code", "")
            if "Balance" in code:
                citizen.exhausted = True
                return "no-money", None
            return ("taken" if code == "BayTakenError" else f"reserve 409 {code}"), None
        if reserved.status_code != 201:
            return f"reserve {reserved.status_code}", None
        return "held", reserved.json()["reservation"]

    async def _pay(self, citizen: Citizen, reservation_id: str, auth: dict[str, str]) -> str:
        paid = await self.http.post(
            f"/api/v1/parking/reservations/{reservation_id}/pay",
            json={"method": "wallet"},
            headers=auth,
        )
        if paid.status_code == 409 and "Balance" in paid.json().get("code", ""):
            citizen.exhausted = True
            return "no-money"
        return "paid" if paid.status_code == 200 else f"pay {paid.status_code}"

    async def _until_confirmed(
        self, reservation_id: str, status: str, auth: dict[str, str], tally: Tally
    ) -> str:
        """Poll the reservation, backing off, until it says confirmed (or 10 s pass)."""
        deadline = time.perf_counter() + 10
        pause = 0.01  # the confirmation page polls too; backing off spares the server
        while status != "confirmed" and time.perf_counter() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 0.25)
            seen = await self.http.get(
                f"/api/v1/parking/reservations/{reservation_id}", headers=auth
            )
            tally.polls += 1
            status = seen.json()["status"]
        return status


async def booking_load(
    base: str,
    wallets: Wallets,
    bays: list[Bay],
    days: list[date],
    *,
    flow: str,
    duration_s: float,
    skip_slots: int,
) -> tuple[Tally, float]:
    """64 clients, each on its own bays and windows, booking until the time is up."""
    tally = Tally()
    slots = [(day, hour) for day in days for hour in HOURS][skip_slots:]

    async def client(booker: Booker, mine: list[Bay]) -> None:
        try:
            for day, hour in slots:
                for bay in mine:
                    if time.perf_counter() >= deadline:
                        return
                    starts_at, ends_at = window(day, hour)
                    tally.outcomes[await booker.book(bay.id, starts_at, ends_at, tally)] += 1
        finally:
            await booker.close()

    bookers = [Booker(base, wallets, flow) for _ in range(CLIENTS)]
    started = time.perf_counter()
    deadline = started + duration_s
    await asyncio.gather(*(client(b, bays[n::CLIENTS]) for n, b in enumerate(bookers)))
    return tally, time.perf_counter() - started


@dataclass
class Timetable:
    """Where a paced load stands: how far behind its slots the bookings started."""

    late_ms: list[float] = field(default_factory=list)


async def paced_load(
    base: str,
    wallets: Wallets,
    bays: list[Bay],
    days: list[date],
    *,
    rate_per_s: float,
    duration_s: float,
    skip_slots: int,
) -> tuple[Tally, float, Timetable]:
    """Bookings started on a timetable, `rate_per_s` in all, whatever the answers' latency.

    Open loop: booking i is due at start + i / rate and starts then on a free connection
    (or as soon as one frees, the wait counted in its latency), not after the answer to the
    one before it, which would let a slow server lower the rate it is measured at. A wallet
    found short passes the same booking to the next citizen, still timed from its slot.
    """
    tally, timetable = Tally(), Timetable()
    free: asyncio.Queue[Booker] = asyncio.Queue()
    bookers = [Booker(base, wallets, "reserve-wallet") for _ in range(PACED_CONNECTIONS)]
    for booker in bookers:
        free.put_nowait(booker)
    targets = [
        (bay, *window(day, hour))
        for day, hour in [(day, hour) for day in days for hour in HOURS][skip_slots:]
        for bay in bays
    ]

    async def one(due: float, bay: Bay, starts_at: str, ends_at: str) -> None:
        booker = await free.get()
        timetable.late_ms.append((time.perf_counter() - due) * 1000)
        try:
            outcome = await booker.book(bay.id, starts_at, ends_at, tally, since=due)
            while outcome == "no-money":  # the same booking, by the next citizen lent
                tally.outcomes[outcome] += 1
                outcome = await booker.book(bay.id, starts_at, ends_at, tally, since=due)
        finally:
            free.put_nowait(booker)
        tally.outcomes[outcome] += 1

    started = time.perf_counter()
    bookings = []
    for i, target in enumerate(targets[: round(rate_per_s * duration_s)]):
        due = started + i / rate_per_s
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        bookings.append(asyncio.create_task(one(due, *target)))
    await asyncio.gather(*bookings)
    elapsed = time.perf_counter() - started
    for booker in bookers:
        await booker.close()
    return tally, elapsed, timetable


def report_load(label: str, tally: Tally, elapsed_s: float) -> dict[str, float]:
    confirmed = len(tally.latencies_ms)
    rate = confirmed / elapsed_s
    p50, p99 = statistics.median(tally.latencies_ms or [0]), percentile(tally.latencies_ms, 99)
    others = {k: v for k, v in tally.outcomes.items() if k != "confirmed"}
    print(
        f"  {label:<36} {rate:>10.1f} {p50:>8.1f} {p99:>8.1f} {confirmed:>9} "
        f"{tally.polls:>7}  {others or ''}"
    )
    if tally.steps:
        parts = ", ".join(
            f"{name} {statistics.median(ms):.0f}/{percentile(ms, 99):.0f}"
            for name, ms in tally.steps.items()
        )
        print(f"  {'':<4}steps, p50/p99 ms: {parts}")
    return {"bookings_per_s": rate, "p50_ms": p50, "p99_ms": p99, "confirmed": confirmed}


# --- the raw-SQL baseline ----------------------------------------------------------------------


async def booking_template(connection: asyncpg.Connection, reservation_id: str) -> dict[str, Any]:
    """The rows one booking the server made wrote, to copy column for column."""

    async def row(query: str, *args: object) -> dict[str, Any]:
        found = await connection.fetchrow(query, *args)
        assert found is not None, (query, args)
        return dict(found)

    reservation = await row("SELECT * FROM parking_reservation WHERE id = $1", reservation_id)
    order = await row(
        "SELECT * FROM payments_order WHERE reference = $1 AND method = 'wallet'", reservation_id
    )
    transaction = await row("SELECT * FROM payments_transaction WHERE payment_id = $1", order["id"])
    entries = [
        dict(entry)
        for entry in await connection.fetch(
            "SELECT * FROM payments_entry WHERE transaction_id = $1 ORDER BY id", transaction["id"]
        )
    ]
    handled = await row(
        "SELECT * FROM parking_reservation_payment WHERE payment_id = $1", order["id"]
    )
    wallet_id = wallet_account(order["citizen_id"])
    revenue_id = next(e["account_id"] for e in entries if e["account_id"] != wallet_id)
    return {
        "reservation": reservation,
        "order": order,
        "transaction": transaction,
        "entries": entries,
        "handled": handled,
        "wallet": await row("SELECT * FROM payments_account WHERE id = $1", wallet_id),
        "revenue": await row("SELECT * FROM payments_account WHERE id = $1", revenue_id),
    }


def insert_sql(table: str, row: dict[str, Any]) -> tuple[str, list[str]]:
    columns = [c for c in row if not (table == "payments_entry" and c == "id")]
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", columns  # noqa: S608


async def hold_sql(connection: asyncpg.Connection, row: dict[str, Any]) -> tuple[str, list[str]]:
    """The app's hold: insert the reservation only if no holding row of the bay overlaps it.

    As `ReservationRepository.hold` sends it: `INSERT ... SELECT <values> WHERE NOT EXISTS
    ... ON CONFLICT DO NOTHING RETURNING id` (no row back: the bay is taken).
    """
    types = dict(
        await connection.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'parking_reservation'::regclass AND attnum > 0"
            " AND NOT attisdropped"
        )
    )
    columns = list(row)
    mark = {c: f"${i}::{types[c]}" for i, c in enumerate(columns, 1)}
    sql = (
        f"INSERT INTO parking_reservation ({', '.join(columns)})"  # noqa: S608
        f" SELECT {', '.join(mark.values())}"
        " WHERE NOT EXISTS (SELECT * FROM parking_reservation AS other"
        f" WHERE other.bay_id = {mark['bay_id']}"
        f" AND other.status IN ({', '.join(repr(s) for s in HOLDING)})"
        f" AND other.starts_at < {mark['ends_at']} AND other.ends_at > {mark['starts_at']})"
        " ON CONFLICT DO NOTHING RETURNING id"
    )
    return sql, columns


RAW_ENSURE_ACCOUNTS = (
    "INSERT INTO payments_account (id, kind, balance_rial, created_at)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING"
)
RAW_LOCK_WALLET = (
    "SELECT id, balance_rial FROM payments_account WHERE id IN ($1) ORDER BY id FOR UPDATE"
)
RAW_DEBIT = "UPDATE payments_account SET balance_rial = balance_rial + $1 WHERE id = $2"
RAW_ENTRIES_SUM = (
    "SELECT coalesce(sum(amount_rial), 0), count(*) FROM payments_entry WHERE transaction_id = $1"
)


async def raw_statements(
    connection: asyncpg.Connection, template: dict[str, Any]
) -> dict[str, tuple[str, list[str]]]:
    transaction_sql, transaction_columns = insert_sql(
        "payments_transaction", template["transaction"]
    )
    return {
        "hold": await hold_sql(connection, template["reservation"]),
        "transaction": (
            f"{transaction_sql} ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            transaction_columns,
        ),
        "entry": insert_sql("payments_entry", template["entries"][0]),
        "order": insert_sql("payments_order", template["order"]),
        "handled": insert_sql("parking_reservation_payment", template["handled"]),
    }


def raw_rows(
    template: dict[str, Any], *, citizen_id: str, bay: Bay, starts_at: datetime
) -> dict[str, Any]:
    """The rows of one booking: the template's, with new ids, citizen, bay and window."""
    now = datetime.now(UTC)
    reservation_id, payment_id, transaction_id = (str(uuid.uuid4()) for _ in range(3))
    wallet = wallet_account(citizen_id)
    reservation = {
        **template["reservation"],
        "id": reservation_id,
        "citizen_id": citizen_id,
        "bay_id": bay.id,
        "meter_id": bay.meter_id,
        "quote_id": str(uuid.uuid4()),
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=1),
        "created_at": now,
        "confirmed_at": now,
    }
    return {
        "reservation": reservation,
        "wallet": wallet,
        "transaction": {
            **template["transaction"],
            "id": transaction_id,
            "idempotency_key": f"payment:{payment_id}",
            "payment_id": payment_id,
            "reference": reservation_id,
            "created_at": now,
        },
        "entries": [
            {
                **entry,
                "transaction_id": transaction_id,
                "account_id": wallet if entry["amount_rial"] < 0 else entry["account_id"],
            }
            for entry in template["entries"]
        ],
        "order": {
            **template["order"],
            "id": payment_id,
            "citizen_id": citizen_id,
            "reference": reservation_id,
            "return_url": f"/parking/reservations/{reservation_id}",
            "created_at": now,
            "expires_at": now + (template["order"]["expires_at"] - template["order"]["created_at"]),
            "verified_at": now,
            "settled_at": now,
        },
        "handled": {
            **template["handled"],
            "payment_id": payment_id,
            "reservation_id": reservation_id,
            "verified_at": now,
            "recorded_at": now,
        },
    }


async def raw_booking(
    connection: asyncpg.Connection,
    template: dict[str, Any],
    statements: dict[str, tuple[str, list[str]]],
    rows: dict[str, Any],
) -> None:
    """One booking in one transaction, statement for statement as the app sends it."""
    now, wallet, revenue = rows["reservation"]["created_at"], rows["wallet"], template["revenue"]
    amount = rows["reservation"]["amount_rial"]

    def values(name: str, row: dict[str, Any]) -> list[Any]:
        return [row[c] for c in statements[name][1]]

    async with connection.transaction():
        sql = statements["hold"][0]
        if await connection.fetchval(sql, *values("hold", rows["reservation"])) is None:
            raise RuntimeError("raw hold refused: the bay is taken")
        await connection.executemany(
            RAW_ENSURE_ACCOUNTS,
            [
                (wallet, template["wallet"]["kind"], 0, now),
                (revenue["id"], revenue["kind"], revenue["balance_rial"], now),
            ],
        )
        locked = await connection.fetch(RAW_LOCK_WALLET, wallet)
        if locked[0]["balance_rial"] < amount:
            raise RuntimeError("raw wallet short")
        sql = statements["transaction"][0]
        await connection.fetchval(sql, *values("transaction", rows["transaction"]))
        await connection.execute(RAW_DEBIT, -amount, wallet)
        await connection.executemany(
            statements["entry"][0], [values("entry", e) for e in rows["entries"]]
        )
        await connection.fetchrow(RAW_ENTRIES_SUM, rows["transaction"]["id"])
        await connection.execute(statements["order"][0], *values("order", rows["order"]))
        await connection.execute(statements["handled"][0], *values("handled", rows["handled"]))


async def raw_load(
    database_url: str, template: dict[str, Any], bays: list[Bay], duration_s: float
) -> tuple[Tally, float, float]:
    """64 connections booking flat out; answers the tally, the time taken and this process's
    CPU time (asyncpg's side of the same statements, without the app around them)."""
    citizens = [str(uuid.uuid4()) for _ in range(CLIENTS)]
    pool = await asyncpg.create_pool(database_url, min_size=CLIENTS, max_size=CLIENTS)
    async with pool.acquire() as connection:
        statements = await raw_statements(connection, template)
        await connection.executemany(
            "INSERT INTO payments_account (id, kind, balance_rial, created_at)"
            " VALUES ($1, $2, $3, $4)",
            [
                (wallet_account(c), template["wallet"]["kind"], 10**15, datetime.now(UTC))
                for c in citizens
            ],
        )
    tally = Tally()
    # Far from the HTTP bookings' week: the same constraint, never the same windows.
    first = datetime(2030, 1, 1, tzinfo=UTC)

    async def client(n: int) -> None:
        mine = bays[n::CLIENTS]
        async with pool.acquire() as connection:
            i = 0
            while time.perf_counter() < deadline:
                rows = raw_rows(
                    template,
                    citizen_id=citizens[n],
                    bay=mine[i % len(mine)],
                    starts_at=first + timedelta(hours=i // len(mine)),
                )
                t0 = time.perf_counter()
                await raw_booking(connection, template, statements, rows)
                tally.latencies_ms.append((time.perf_counter() - t0) * 1000)
                tally.outcomes["confirmed"] += 1
                i += 1

    deadline = time.perf_counter() + duration_s
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    await pool.close()
    return tally, elapsed, cpu_s


# --- overlaps ----------------------------------------------------------------------------------


async def overlap_attempts(
    base: str, citizens: list[Citizen], bays: list[Bay], day: date
) -> Counter[str]:
    """64 clients book random overlapping windows (10:00-13:00) on the same 10 bays."""
    tally = Tally()
    deadline = time.perf_counter() + OVERLAP_S

    async def client(n: int) -> None:
        rng = random.Random(n)
        booker = Booker(base, Wallets([citizens[n]]), "reserve-wallet", wait_confirmed=False)
        try:
            while time.perf_counter() < deadline:
                bay = rng.choice(bays)
                start = datetime(day.year, day.month, day.day, 10, tzinfo=TEHRAN) + timedelta(
                    minutes=15 * rng.randrange(8)
                )
                minutes = 60 + 30 * rng.randrange(3)
                outcome = await booker.book(
                    bay.id,
                    start.isoformat(),
                    (start + timedelta(minutes=minutes)).isoformat(),
                    tally,
                )
                tally.outcomes[outcome] += 1
                if outcome == "no-citizen-left":
                    return  # answered without a request: looping on would hold the loop
        finally:
            await booker.close()

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return tally.outcomes


async def count_overlaps(
    database_url: str | None, var_dir: Path, bays: list[Bay]
) -> tuple[int, int, int]:
    """(overlapping pairs of holding reservations, holding rows, confirmed rows) on the bays."""
    ids = ",".join(str(b.id) for b in bays)
    confirmed_sum = "coalesce(sum(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), 0)"
    holding = (
        f"SELECT count(*), {confirmed_sum} FROM parking_reservation"  # noqa: S608
        f" WHERE bay_id IN ({ids}) AND status IN ('pending', 'confirmed')"
    )
    if database_url is None:
        with sqlite3.connect(var_dir / "shahr.db") as db:
            held, confirmed = db.execute(holding).fetchone()
            return db.execute(OVERLAPS_SQL).fetchone()[0], held, confirmed
    connection = await asyncpg.connect(database_url)
    try:
        held, confirmed = await connection.fetchrow(holding)
        return await connection.fetchval(OVERLAPS_SQL), held, confirmed
    finally:
        await connection.close()


async def overlap_check(
    name: str,
    base: str,
    var_dir: Path,
    database_url: str | None,
    citizens: list[Citizen],
    bays: list[Bay],
    day: date,
    figures: dict[str, object],
) -> None:
    targets = bays[:OVERLAP_BAYS]
    outcomes = await overlap_attempts(base, citizens, targets, day)
    # Every hold was paid from the wallet: wait (a little) for the payments to confirm them.
    deadline = time.perf_counter() + 15
    while True:
        overlaps, holding, confirmed = await count_overlaps(database_url, var_dir, targets)
        if confirmed == holding or time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.5)
    figures[f"{name} overlaps"] = {"outcomes": dict(outcomes), "overlaps": overlaps}
    others = {k: v for k, v in outcomes.items() if k not in ("held", "taken")}
    print(
        f"  {name:<11} attempts {sum(outcomes.values()):>5}: "
        f"held (201) {outcomes['held']:>4}, 409 taken {outcomes['taken']:>5}, "
        f"other {sum(others.values())} {others or ''}; holding rows {holding} "
        f"({confirmed} confirmed); "
        f"overlapping pairs in the database: {overlaps} -> {'OK' if overlaps == 0 else 'FAIL'}"
    )


# --- the server's CPU -----------------------------------------------------------------------


class ServerClock:
    """The server process's CPU time, and its time spent runnable but waiting for a core.

    On a shared machine the rate moves with the neighbours; CPU per booking does much less.
    """

    def __init__(self, base: str) -> None:
        port = base.rsplit(":", 1)[1]
        self.pid = next(
            (
                proc.name
                for proc in Path("/proc").iterdir()
                if proc.name.isdigit() and _is_server(proc, port)
            ),
            None,
        )
        self._since = (0.0, 0.0, 0.0, 0.0)

    def _read(self) -> tuple[float, float, float, float]:
        """(server CPU s, server waiting for a core s, generator CPU s, generator waiting s)."""
        mine = time.process_time(), _waited_s(str(os.getpid()))  # the load generator
        if self.pid is None:
            return 0.0, 0.0, *mine
        stat = (Path("/proc") / self.pid / "stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(stat[11]) + int(stat[12])) / ticks, _waited_s(self.pid), *mine

    def start(self) -> None:
        self._since = self._read()

    async def settle(self, *, quiet_share: float = 0.05, within_s: float = 60.0) -> float:
        """Wait until the server is (almost) idle; answers how long that took.

        Each sign-in leaves work on the bus (the demo wallet's credit), done after the
        answer: left running, it would be counted against the first loads.
        """
        started = time.perf_counter()
        while time.perf_counter() - started < within_s:
            before = self._read()[0]
            await asyncio.sleep(0.5)
            if (self._read()[0] - before) / 0.5 < quiet_share:
                break
        return time.perf_counter() - started

    def report(self, confirmed: int, elapsed_s: float) -> dict[str, float]:
        cpu_s, waited_s, generator_s, generator_waited_s = (
            now - then for now, then in zip(self._read(), self._since, strict=True)
        )
        figures = {
            "server_cpu_ms_per_booking": cpu_s * 1000 / max(confirmed, 1),
            "server_cpu_share": cpu_s / elapsed_s,
            "server_waiting_for_cpu_share": waited_s / elapsed_s,
            "load_generator_cpu_share": generator_s / elapsed_s,
            "load_generator_waiting_for_cpu_share": generator_waited_s / elapsed_s,
        }
        if self.pid is not None:
            print(
                f"  {'':<4}server: {figures['server_cpu_ms_per_booking']:.1f} ms CPU per "
                f"confirmed booking, busy {figures['server_cpu_share']:.0%} of the time, "
                f"waiting for a core {figures['server_waiting_for_cpu_share']:.0%}; "
                f"load generator busy {figures['load_generator_cpu_share']:.0%}, waiting "
                f"{figures['load_generator_waiting_for_cpu_share']:.0%}"
            )
        return figures


def _waited_s(pid: str) -> float:
    """Time the process's threads spent runnable but waiting for a core (schedstat)."""
    waited_ns = 0
    for task in (Path("/proc") / pid / "task").iterdir():
        with contextlib.suppress(OSError):
            waited_ns += int((task / "schedstat").read_text().split()[1])
    return waited_ns / 1e9


def _is_server(proc: Path, port: str) -> bool:
    try:
        arguments = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"serve" in arguments and port.encode() in arguments


# --- the run -----------------------------------------------------------------------------------


def make_citizens(first: int, count: int) -> list[Citizen]:
    return [
        Citizen(phone=f"0912{5000000 + n:07d}", plate=plate_of(n))
        for n in range(first, first + count)
    ]


@dataclass
class City:
    """What the loads share: the server, the signed-in citizens, the bays and the open days."""

    base: str
    var_dir: Path
    server: ServerClock
    wallets: Wallets  # the closed loops'
    paced: Wallets
    racers: list[Citizen]
    bays: list[Bay]
    days: list[date]
    overlap_day: date

    @property
    def throughput_bays(self) -> list[Bay]:
        return self.bays[OVERLAP_BAYS:]

    @property
    def slots(self) -> int:
        return len(self.days) * len(HOURS)


async def open_city(url: str, base: str, var_dir: Path) -> City:
    citizens = make_citizens(0, CLIENTS * CITIZENS_PER_CLIENT)
    paced = make_citizens(len(citizens), PACED_CITIZENS)
    racers = make_citizens(len(citizens) + len(paced), CLIENTS)
    t0 = time.perf_counter()
    await sign_in_all(base, var_dir, citizens + paced + racers)
    signed_in_s = time.perf_counter() - t0
    bays = await car_bays(url, var_dir)
    days = await open_days(base, citizens[0], bays[-1])
    server = ServerClock(base)
    settled_s = await server.settle()
    print(
        f"postgresql: {len(citizens) + len(paced) + len(racers)} citizens signed in (code "
        f"flow, one car each) in {signed_in_s:.1f} s, the server idle again {settled_s:.1f} s "
        f"later; {len(bays)} car bays; "
        f"days open for booking: {', '.join(d.isoformat() for d in days)}"
    )
    return City(
        base,
        var_dir,
        server,
        Wallets(citizens),
        Wallets(paced),
        racers,
        bays,
        days[:-1],
        days[-1],
    )


async def closed_loop(
    city: City, duration_s: float, runs: int, figures: dict[str, object]
) -> tuple[dict[str, float], Tally]:
    """64 clients flat out, `runs` times: the median run's rate, p50/p99 over every run."""
    print(
        f"\n  {'booking, 64 clients, ' + str(int(duration_s)) + ' s':<36} {'bookings/s':>10} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'confirmed':>9} {'polls':>7}  other outcomes"
    )
    load = functools.partial(
        booking_load,
        city.base,
        city.wallets,
        city.throughput_bays,
        city.days,
        flow="reserve-wallet",
    )
    # Warm-up, a couple of seconds, on slots the measured runs do not use: the server's
    # connection pool fills, statements are prepared.
    warm, _ = await load(duration_s=2, skip_slots=city.slots - 2)
    rates, cpu_ms, every = [], [], Tally()
    for run in range(runs):
        city.server.start()
        tally, elapsed = await load(
            duration_s=duration_s, skip_slots=run * city.slots // (2 * runs)
        )
        figures[f"postgresql http reserve-wallet run {run + 1}"] = run_figures = {
            **report_load(f"HTTP: quote, reserve(wallet) #{run + 1}", tally, elapsed),
            **city.server.report(len(tally.latencies_ms), elapsed),
        }
        rates.append(len(tally.latencies_ms) / elapsed)
        cpu_ms.append(run_figures["server_cpu_ms_per_booking"])
        every.latencies_ms += tally.latencies_ms
        every.reservation_ids += tally.reservation_ids
    every.reservation_ids += warm.reservation_ids  # the template's booking, if no run made one
    http = {
        "bookings_per_s": statistics.median(rates),
        "p50_ms": statistics.median(every.latencies_ms or [0]),
        "p99_ms": percentile(every.latencies_ms, 99),
        "confirmed": len(every.latencies_ms),
        "server_cpu_ms_per_booking": statistics.median(cpu_ms),
    }
    figures["postgresql http reserve-wallet"] = http
    print(
        f"  {'HTTP: quote, reserve(wallet), median':<36} {http['bookings_per_s']:>10.1f} "
        f"{http['p50_ms']:>8.1f} {http['p99_ms']:>8.1f} {http['confirmed']:>9}"
        f"  (runs: {', '.join(f'{r:.1f}' for r in rates)}/s; server CPU per booking: "
        f"{', '.join(f'{c:.2f}' for c in cpu_ms)} ms; wallets not yet spent: {len(city.wallets)})"
    )
    return http, every


async def reserve_then_pay(city: City, duration_s: float, figures: dict[str, object]) -> None:
    city.server.start()
    tally, elapsed = await booking_load(
        city.base,
        city.wallets,
        city.throughput_bays,
        city.days,
        flow="reserve-then-pay",
        duration_s=duration_s,
        skip_slots=city.slots // 2,
    )
    figures["postgresql http reserve-then-pay"] = {
        **report_load("HTTP: quote, reserve, /pay(wallet)", tally, elapsed),
        **city.server.report(len(tally.latencies_ms), elapsed),
    }


async def paced(city: City, duration_s: float, figures: dict[str, object]) -> dict[str, float]:
    # What the flat-out loads left on the bus is theirs: the paced load starts once it is done.
    settled_s = await city.server.settle()
    print(
        f"\n  paced (open loop): {PACED_RATE_PER_S} bookings/s due on a timetable for "
        f"{duration_s:.0f} s, up to {PACED_CONNECTIONS} connections; latency from each "
        f"booking's slot (the server idle again {settled_s:.1f} s after the loads before)"
    )
    city.server.start()
    tally, elapsed, timetable = await paced_load(
        city.base,
        city.paced,
        city.throughput_bays,
        city.days,
        rate_per_s=PACED_RATE_PER_S,
        duration_s=duration_s,
        skip_slots=3 * city.slots // 4,
    )
    result = {
        **report_load(f"HTTP: paced {PACED_RATE_PER_S}/s, reserve(wallet)", tally, elapsed),
        **city.server.report(len(tally.latencies_ms), elapsed),
        "started_late_p99_ms": percentile(timetable.late_ms, 99),
    }
    figures["postgresql http paced"] = result
    print(
        f"  {'':<4}achieved {result['bookings_per_s']:.1f} confirmed bookings/s of "
        f"{PACED_RATE_PER_S} due; a booking started behind its slot by p99 "
        f"{result['started_late_p99_ms']:.1f} ms (a free connection, the generator's loop)"
    )
    return result


async def raw_baseline(
    url: str,
    template: dict[str, Any],
    bays: list[Bay],
    duration_s: float,
    http: dict[str, float],
    figures: dict[str, object],
) -> None:
    raw, raw_elapsed, client_cpu_s = await raw_load(url, template, bays, duration_s)
    baseline = report_load("raw SQL (asyncpg), one transaction", raw, raw_elapsed)
    baseline["client_cpu_ms_per_booking"] = client_cpu_s * 1000 / max(len(raw.latencies_ms), 1)
    figures["postgresql raw sql"] = baseline
    print(
        f"  {'':<4}client (this process, asyncpg): "
        f"{baseline['client_cpu_ms_per_booking']:.2f} ms CPU per booking"
    )
    ratio = http["bookings_per_s"] / baseline["bookings_per_s"]
    p99_ratio = http["p99_ms"] / baseline["p99_ms"]
    figures["postgresql ratio http/raw"] = {"throughput": ratio, "p99": p99_ratio}
    print(
        f"  HTTP (reserve-wallet, median) / raw SQL: {ratio:.3f}x bookings/s, {p99_ratio:.1f}x p99"
    )


def print_claims(http: dict[str, float], paced_result: dict[str, float]) -> None:
    rate, cpu_ms = http["bookings_per_s"], http["server_cpu_ms_per_booking"]
    p99 = paced_result["p99_ms"]
    for claim, met, seen in (
        (">= 300 confirmed bookings/s, 64 clients", rate >= 300, f"{rate:.0f}/s"),
        ("<= 2.5 ms server CPU per booking", cpu_ms <= 2.5, f"{cpu_ms:.2f} ms"),
        (f"p99 < 50 ms at a paced {PACED_RATE_PER_S}/s", p99 < 50, f"p99 {p99:.1f} ms"),
    ):
        print(f"  claim {claim}: {'meets' if met else 'does NOT meet'} it ({seen})")


async def postgres_run(url: str, duration_s: float, runs: int, figures: dict[str, object]) -> None:
    with running_server(url) as (base, var_dir):
        city = await open_city(url, base, var_dir)
        http, every = await closed_loop(city, duration_s, runs, figures)
        await reserve_then_pay(city, duration_s, figures)
        paced_result = await paced(city, duration_s, figures)
        connection = await asyncpg.connect(url)
        try:
            template = await booking_template(connection, every.reservation_ids[0])
        finally:
            await connection.close()
        print(
            "\n  overlap check: 64 clients, 10 bays, overlapping windows, "
            f"{OVERLAP_S:.0f} s, quote + reserve(wallet)"
        )
        await overlap_check(
            "postgresql", base, var_dir, url, city.racers, city.bays, city.overlap_day, figures
        )
    # After the server has stopped: its pool and the baseline's 64 connections together
    # would pass PostgreSQL's max_connections (100), which the machine's other users share.
    print()
    await raw_baseline(url, template, city.throughput_bays, duration_s, http, figures)
    print_claims(http, paced_result)


async def sqlite_run(figures: dict[str, object]) -> None:
    with running_server(None) as (base, var_dir):
        racers = make_citizens(0, CLIENTS)
        await sign_in_all(base, var_dir, racers)
        bays = await car_bays(None, var_dir)
        day = (await open_days(base, racers[0], bays[-1]))[-1]
        print("\nsqlite: 64 citizens signed in; the same overlap check")
        await overlap_check("sqlite", base, var_dir, None, racers, bays, day, figures)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measured load")
    parser.add_argument("--runs", type=int, default=3, help="measured runs of the main flow")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    print(
        "machine: 2 shared cores; the load generator (Python, httpx/asyncpg, this process) "
        "competes with the server and PostgreSQL for them\n"
    )
    url = postgres_url("shahr_bench_booking")
    if url is None:
        print("postgresql: skipped, no server reachable (the throughput claim is not measured)")
    else:
        await postgres_run(url, args.duration, args.runs, figures)
    await sqlite_run(figures)
    save("parking_booking", figures)


if __name__ == "__main__":
    asyncio.run(main())
