"""Statistics: /stats week over 100,000 users and 1,000,000 activity events on SQLite —
the queries, the chart and the XLSX export, timed separately."""

from __future__ import annotations

import os
import statistics
import time

from bench.common import bench_app
from bot.i18n import fmt_int
from bot.services import charts, reports, stats
from bot.services.demo import seed_demo

USERS = int(os.environ.get("BENCH_STATS_USERS", "100000"))
EVENTS = int(os.environ.get("BENCH_STATS_EVENTS", "1000000"))


async def main() -> None:
    app, _api, folder = await bench_app()
    try:
        started = time.perf_counter()
        seeded = await seed_demo(app.sessionmaker, USERS, EVENTS, seed=42, now=app.now())
        print(f"seeded {seeded} in {time.perf_counter() - started:.1f} s")
        tz = app.settings.tz
        locale = "kk"
        tr = lambda msgid: app.i18n.t(locale, msgid)  # noqa: E731
        name = stats.place_namer(app.places, locale)
        async with app.sessionmaker() as session:
            period = stats.parse_period("week", app.now(), tz)
            started = time.perf_counter()
            await stats.collect(session, period, stats.Scope())
            print(f"/stats week queries (country), first call: "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms")
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                data = await stats.collect(session, period, stats.Scope())
                runs.append(time.perf_counter() - started)
            print(f"/stats week queries (country): median "
                  f"{statistics.median(runs) * 1000:.0f} ms, best {min(runs) * 1000:.0f} ms, "
                  f"worst {max(runs) * 1000:.0f} ms  [limit 300 ms]; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            first = app.places.regions[0]
            for label, scope in (("one region", stats.Scope(first.id)),
                                 ("one district", stats.Scope(
                                     first.id, app.places.districts[first.id][0].id))):
                started = time.perf_counter()
                await stats.collect(session, period, scope)
                print(f"/stats week queries ({label}): "
                      f"{(time.perf_counter() - started) * 1000:.0f} ms")
            text = stats.render_text(data, tr, lambda v: fmt_int(v, locale), name)
            print(f"text: {len(text)} chars; active users {data.current['active']}, "
                  f"participation {data.total.participation}")
            started = time.perf_counter()
            png = charts.stats_chart(data, tr, name)
            print(f"chart: {(time.perf_counter() - started) * 1000:.0f} ms, "
                  f"{len(png) // 1024} KiB  [limit 1500 ms]")
            started = time.perf_counter()
            xlsx = await reports.export_xlsx(session, period, stats.Scope(), tr, locale, name)
            print(f"xlsx (week): {(time.perf_counter() - started) * 1000:.0f} ms, "
                  f"{len(xlsx) // 1024} KiB  [limit 5000 ms]")
            year = stats.parse_period("year", app.now(), tz)
            started = time.perf_counter()
            xlsx = await reports.export_xlsx(session, year, stats.Scope(), tr, locale, name)
            print(f"xlsx (year): {(time.perf_counter() - started) * 1000:.0f} ms, "
                  f"{len(xlsx) // 1024} KiB")
            started = time.perf_counter()
            board = await stats.leaderboard(session, stats.Scope(), year)
            print(f"leaderboard (year, 4 boards): "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms, "
                  f"{len(board.boards['orgs'])} organisations")
    finally:
        await app.close()
        for name_ in os.listdir(folder):
            os.remove(os.path.join(folder, name_))
        os.rmdir(folder)
