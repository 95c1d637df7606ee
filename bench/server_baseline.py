"""The server itself: requests/s and p50/p99 for /healthz and a database-backed page.

64 concurrent keep-alive clients (wrk, a separate process) against one `shahr serve`
process, on SQLite and on PostgreSQL. Later benchmarks quote their results as ratios to
these figures, measured in the same run.
"""

from __future__ import annotations

from harness import citizen_token, postgres_url, running_server, save, wrk

DURATION_S = 10


def main() -> None:
    figures: dict[str, object] = {}
    backends = {"sqlite": None, "postgresql": postgres_url("shahr_bench")}
    print(f"{'database':<11} {'route':<22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, url in backends.items():
        if name == "postgresql" and url is None:
            print("postgresql  skipped: no server reachable")
            continue
        with running_server(url) as (base, var_dir):
            token = citizen_token(base, var_dir)
            routes = {
                "/healthz": ({}, f"{base}/healthz"),
                "/account (db-backed)": ({"authorization": f"Bearer {token}"}, f"{base}/account"),
            }
            for route, (headers, target) in routes.items():
                wrk(target, duration_s=2, headers=headers)  # warm-up
                result = wrk(target, duration_s=DURATION_S, headers=headers)
                figures[f"{name} {route}"] = result.__dict__
                print(
                    f"{name:<11} {route:<22} {result.requests_per_s:>9.0f} "
                    f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {result.errors:>7}"
                )
    save("server_baseline", figures)


if __name__ == "__main__":
    main()
