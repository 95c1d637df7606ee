"""What the benchmarks share: a real `shahr serve` process, and wrk as the load generator."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHAHR = str(Path(sys.executable).parent / "shahr")
RESULTS_DIR = ROOT / "var" / "bench"


@dataclass
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_url(database: str) -> str | None:
    """A fresh PostgreSQL database for the benchmark, or None when there is no server."""
    admin = os.environ.get("SHAHR_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    if shutil.which("psql") is None:
        return None
    drop = subprocess.run(
        [
            "psql",
            admin,
            "-qc",
            f"DROP DATABASE IF EXISTS {database}",
            "-c",
            f"CREATE DATABASE {database}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if drop.returncode != 0:
        print(f"  (no PostgreSQL: {drop.stderr.strip()})")
        return None
    return admin.rsplit("/", 1)[0] + f"/{database}"


# Every simulated citizen signs in from 127.0.0.1; a city sees them from many addresses, so
# the per-address sign-in limits (decision 0030) would measure themselves, not the server.
ONE_ADDRESS_MANY_CITIZENS = {
    "SHAHR_OTP_REQUESTS_PER_ADDRESS": "1000000",
    "SHAHR_OTP_VERIFIES_PER_ADDRESS": "1000000",
}


@contextmanager
def running_server(database_url: str | None, *, workers: int = 1) -> Iterator[tuple[str, Path]]:
    """Seed the demo city into the database, then serve it; yields (base URL, var dir)."""
    var_dir = Path(tempfile.mkdtemp(prefix="shahr-bench-"))
    env = {
        **os.environ,
        "SHAHR_VAR_DIR": str(var_dir),
        "SHAHR_DEMO": "1",
        "SHAHR_COOKIE_SECURE": "0",
        # The server alone: no traffic twin, meter simulators or scheduled jobs beside it.
        "SHAHR_RUN_JOBS": "0",
        "SHAHR_RUN_SIMULATORS": "0",
        **ONE_ADDRESS_MANY_CITIZENS,
    }
    env.pop("SHAHR_DATABASE_URL", None)
    if database_url:
        env["SHAHR_DATABASE_URL"] = database_url
    subprocess.run([SHAHR, "demo", "seed"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [SHAHR, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the server did not answer /healthz within 60 s")
        yield base, var_dir
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(var_dir, ignore_errors=True)


def citizen_token(base: str, var_dir: Path, phone: str = "09120000001") -> str:
    """Sign the demo citizen in through the one-time code, as a phone would."""
    with httpx.Client(base_url=base, timeout=10) as http:
        http.get("/sign-in")
        csrf = {"x-csrf-token": http.cookies.get("shahr_csrf", "")}
        http.post(
            "/api/v1/identity/otp/request", json={"phone": phone}, headers=csrf
        ).raise_for_status()
        last = (var_dir / "sms-outbox.jsonl").read_text(encoding="utf-8").strip().splitlines()[-1]
        code = re.findall(r"\d{4,8}", json.loads(last)["text"])[-1]
        answer = http.post(
            "/api/v1/identity/otp/verify", json={"phone": phone, "code": code}, headers=csrf
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def wrk(
    url: str, *, connections: int = 64, duration_s: int = 10, headers: dict[str, str] | None = None
) -> LoadResult:
    """Load `url` from a separate process with `connections` concurrent keep-alive clients."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian package)")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration_s}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(rate, p50, p99, errors)


def save(name: str, figures: dict[str, object]) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(figures, indent=2))


# A wrk thread's timetable: `delay()` runs before each request and returns how many
# milliseconds it should wait (wrk truncates to whole ms; the timetable, being absolute,
# makes up for it on the next request). After a stall of over a second it starts afresh
# rather than firing the missed slots at once.
_PACED_LUA = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } shahr_timeval;
int gettimeofday(shahr_timeval *tv, void *tz);
]]
local tv = ffi.new("shahr_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end
local next_at = nil
function delay()
  local now = now_ms()
  if next_at == nil or next_at < now - 1000 then
    next_at = now
  end
  local wait = next_at - now
  next_at = next_at + INTERVAL_MS
  if wait < 0 then
    return 0
  end
  return wait
end
"""


def wrk_paced(
    url: str,
    *,
    rate_per_s: float,
    connections: int = 16,
    duration_s: int = 10,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Like `wrk`, but requests start on a schedule, `rate_per_s` in all (wrk's Lua
    `delay()`; wrk has no rate option and wrk2 is not packaged here).

    Each wrk thread keeps its own timetable (its share of the rate, one slot every
    `threads / rate` seconds, read from the clock through LuaJIT's FFI) and each request
    waits for the next free slot, so the rate holds whatever the latency, as long as a
    connection is free; a fixed pause after each response would fall short of the aim by
    the latency itself. Latency is measured per request (not corrected for coordinated
    omission): report the achieved rate beside the percentiles.
    """
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian package)")
    threads = 2
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_PACED_LUA.replace("INTERVAL_MS", f"{threads * 1000.0 / rate_per_s:.6f}"))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency"]
    command += ["--timeout", "5s"]
    command += ["-s", script.name]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    try:
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(rate, p50, p99, errors)


@contextmanager
def running_plain_server(database_url: str | None) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """Seed the demo city, then serve it outside demo mode; yields (base URL, var dir, env).

    Demo mode runs a simulated meter fleet in the server, one MQTT meter per meter in the
    inventory: with a city-sized inventory imported that fleet, not the request, is what
    the server spends its time on. Outside demo mode there are no demo wallets either.
    `env` is the server's environment, for CLI commands on the same database.
    """
    var_dir = Path(tempfile.mkdtemp(prefix="shahr-bench-"))
    env = {
        **os.environ,
        "SHAHR_VAR_DIR": str(var_dir),
        "SHAHR_COOKIE_SECURE": "0",
        **ONE_ADDRESS_MANY_CITIZENS,
    }
    env.pop("SHAHR_DATABASE_URL", None)
    if database_url:
        env["SHAHR_DATABASE_URL"] = database_url
    subprocess.run(
        [SHAHR, "demo", "seed"], env={**env, "SHAHR_DEMO": "1"}, check=True, capture_output=True
    )
    env["SHAHR_DEMO"] = "0"
    port = free_port()
    server = subprocess.Popen(
        [SHAHR, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the server did not answer /healthz within 60 s")
        yield base, var_dir, env
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(var_dir, ignore_errors=True)
