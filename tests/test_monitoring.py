"""/metrics through prometheus-client (bot/metrics.py), and deploy/'s Grafana dashboard and
Prometheus alert rules: every query they hold names a metric the real endpoint exports.

Set METRICS_SCRAPE=<file> to keep the scrape the first test reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update

from bot import metrics as bot_metrics
from bot.local_api import ApiCall
from bot.services.delivery import OutgoingMessage, Recipient, enqueue
from bot.webhook import build_web_app
from db.models import Delivery
from tests.harness import BotHarness, Clock, make_harness, on_postgres
from tests.test_webhook import SECRET, post, start_update

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus-alerts.yml"
ALERT_TESTS = ROOT / "deploy" / "prometheus-alerts.test.yml"


@pytest.fixture
async def wh(db_url: str, clock: Clock) -> AsyncIterator[tuple[BotHarness, TestClient]]:
    harness = await make_harness(db_url, clock, webhook_url="https://bot.example.kz/tg/hook",
                                 webhook_secret=SECRET)
    client = TestClient(TestServer(build_web_app(harness.app)))
    await client.start_server()
    yield harness, client
    await client.close()
    await harness.close()


class Scrape:
    """One /metrics answer, parsed by prometheus-client's own parser."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.samples = [s for family in text_string_to_metric_families(body)
                        for s in family.samples]

    def value(self, name: str, **labels: str) -> float | None:
        found = [s.value for s in self.samples
                 if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        return sum(found) if found else None

    def names(self) -> set[str]:
        return {s.name for s in self.samples}


async def scrape(client: TestClient) -> Scrape:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    return Scrape(await resp.text())


async def queue(h: BotHarness, chats: list[int], source_id: int = 1) -> None:
    async with h.app.sessionmaker() as s:
        await enqueue(s, "notice", source_id, [Recipient(None, c) for c in chats],
                      {"default": OutgoingMessage(text="hello")})
        await s.commit()


# --- what /metrics says -------------------------------------------------------------------

async def test_updates_deliveries_429s_and_the_process_are_counted(wh):
    h, client = wh
    assert await post(client, start_update(20_001, tg_id=601)) == 200

    def broken(call: ApiCall) -> None:
        if call.method == "sendMessage":
            raise RuntimeError("Bot API unreachable")

    h.api.fault = broken
    assert await post(client, start_update(20_002, tg_id=602)) == 200
    h.api.fault = None
    assert await post(client, start_update(20_001, tg_id=601)) == 200  # repeated: skipped

    state = {"calls": 0}

    def telegram(call: ApiCall) -> None:
        state["calls"] += 1
        if state["calls"] == 1:
            raise TelegramRetryAfter(method=call.method, message="Too Many Requests",
                                     retry_after=3)
        if call.chat_id == 703:
            raise TelegramForbiddenError(method=call.method, message="bot was blocked")

    h.api.fault = telegram
    await queue(h, [701, 702, 703])
    assert await h.drain() == 3
    h.api.fault = None

    m = await scrape(client)
    if os.environ.get("METRICS_SCRAPE"):
        Path(os.environ["METRICS_SCRAPE"]).write_text(m.body)
    assert m.value("bot_updates_handled_total") == 2
    assert m.value("bot_duplicate_updates_total") == 1
    assert m.value("bot_handler_errors_total") == 1
    # both /start updates went to the registration router: one answered, one failed there
    assert m.value("bot_update_handling_seconds_count",
                   handler_group="people.registration") == 2
    assert m.value("bot_update_handling_seconds_count") == 2
    assert m.value("bot_deliveries_total", channel="telegram", outcome="sent") == 2
    assert m.value("bot_deliveries_total", channel="telegram", outcome="blocked") == 1
    assert m.value("bot_deliveries_total", channel="telegram", outcome="failed") == 0
    assert m.value("bot_delivery_send_seconds_count", channel="telegram") == 3
    assert m.value("bot_delivery_wait_seconds_count", channel="telegram") == 2  # sent ones
    assert m.value("bot_delivery_rate_limited_total", channel="telegram", scope="bot") == 1
    assert m.value("bot_delivery_rate_limited_total", channel="telegram", scope="chat") == 0
    assert m.value("bot_delivery_queue_depth", status="queued") == 0
    assert m.value("process_resident_memory_bytes") > 10_000_000
    assert m.value("process_cpu_seconds_total") > 0
    assert m.value("python_gc_collections_total") is not None
    assert "601" not in m.body and "Aruzhan" not in m.body  # nothing about anyone


async def test_queue_depth_and_the_oldest_due_wait(wh, monkeypatch):
    h, client = wh
    await queue(h, [801, 802])
    m = await scrape(client)
    assert m.value("bot_delivery_queue_depth", status="queued") == 2
    assert m.value("bot_delivery_oldest_due_seconds") < 5  # due just now

    async with h.app.sessionmaker() as s:  # nobody sent them: the oldest is 10 minutes late
        await s.execute(update(Delivery).values(
            next_attempt_at=h.app.delivery.now() - timedelta(minutes=10)))
        await s.commit()
    await queue(h, [803], source_id=2)
    m = await scrape(client)  # within QUEUE_REFRESH of the last read: not read again
    assert m.value("bot_delivery_queue_depth", status="queued") == 2
    monkeypatch.setattr(bot_metrics, "QUEUE_REFRESH", 0.0)
    m = await scrape(client)
    assert m.value("bot_delivery_queue_depth", status="queued") == 3
    assert 600 <= m.value("bot_delivery_oldest_due_seconds") < 660

    await h.drain()
    m = await scrape(client)
    assert m.value("bot_delivery_queue_depth", status="queued") == 0
    assert m.value("bot_delivery_oldest_due_seconds") == 0


async def test_the_wait_from_queued_to_sent(wh):
    h, client = wh
    await queue(h, [811])
    async with h.app.sessionmaker() as s:  # queued 5 minutes ago (a long broadcast's tail)
        await s.execute(update(Delivery).values(
            created_at=h.app.delivery.now() - timedelta(minutes=5)))
        await s.commit()
    await h.drain()
    m = await scrape(client)
    assert m.value("bot_delivery_wait_seconds_bucket", channel="telegram", le="120.0") == 0
    assert m.value("bot_delivery_wait_seconds_bucket", channel="telegram", le="600.0") == 1
    assert 300 <= m.value("bot_delivery_wait_seconds_sum", channel="telegram") < 360


async def test_a_database_that_fails_keeps_the_last_values(wh, monkeypatch):
    h, client = wh
    await queue(h, [901])
    assert (await scrape(client)).value("bot_delivery_queue_depth", status="queued") == 1

    async def down(engine: Any) -> Any:
        raise OSError("database unreachable")

    monkeypatch.setattr(bot_metrics, "QUEUE_REFRESH", 0.0)
    monkeypatch.setattr(bot_metrics, "read_queue", down)
    m = await scrape(client)
    assert m.value("bot_delivery_queue_depth", status="queued") == 1
    assert m.value("bot_delivery_queue_read_errors_total") == 1


async def test_the_queue_is_read_from_the_claim_index_not_the_whole_table(wh):
    """A year of sent messages stays out of every scrape: each query is a range read of
    ix_deliveries_claim (status first), in SQLite's plan and PostgreSQL's."""
    h, _ = wh
    async with h.app.engine.connect() as conn:
        for query in bot_metrics.queue_queries():
            sql = str(query.compile(h.app.engine, compile_kwargs={"literal_binds": True}))
            if on_postgres():
                await conn.execute(text("SET enable_seqscan = off"))  # as on a big table
                plan = "\n".join(r[0] for r in await conn.execute(text("EXPLAIN " + sql)))
                assert "ix_deliveries_claim" in plan, plan
            else:
                plan = "\n".join(str(r[-1]) for r in await conn.execute(
                    text("EXPLAIN QUERY PLAN " + sql)))
                assert "USING COVERING INDEX ix_deliveries_claim (status=?" in plan, plan
                assert "SCAN deliveries" not in plan, plan


# --- deploy/: the dashboard and the alert rules ------------------------------------------

FUNCTION_OR_KEYWORD = re.compile(r"(?i)^(by|without|on|ignoring|group_left|group_right|"
                                 r"offset|bool|and|or|unless|inf|nan)$")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, label names,
    strings, durations and Grafana's $variables left out)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
    e = re.sub(r"(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    found = re.findall(r"(?<![\w.$:])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", e)
    return {n for n in found if not FUNCTION_OR_KEYWORD.match(n)}


def dashboard_queries() -> list[tuple[str, set[str]]]:
    board = json.loads(DASHBOARD.read_text())
    queries = [(f"panel {p['title']!r}", metric_names(t["expr"]))
               for p in board["panels"] for t in p["targets"]]
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.fullmatch(r"label_values\((\w+),\s*\w+\)", q)
            queries.append((f"variable {var['name']}", {m[1]} if m else metric_names(q)))
    return queries


def alert_queries() -> list[tuple[str, set[str]]]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [(f"alert {r['alert']}", metric_names(r["expr"]))
            for g in rules["groups"] for r in g["rules"]]


def test_the_expression_reader_finds_the_metrics():
    assert metric_names('histogram_quantile(0.95, sum by (le, channel) '
                        '(rate(bot_x_bucket{a="b(c)",i=~"$instance"}[$__rate_interval])))'
                        ) == {"bot_x_bucket"}
    assert metric_names("sum(rate(a_total[5m])) / sum(rate(b_total[5m])) > 0.05 and "
                        "on() absent(c) or 1e-9 * d") == {"a_total", "b_total", "c", "d"}


async def test_every_dashboard_and_alert_query_names_an_exported_metric(wh):
    h, client = wh
    assert await post(client, start_update(20_101, tg_id=611)) == 200  # a handler_group
    await queue(h, [711])
    await h.drain()
    exported = (await scrape(client)).names()

    queries = dashboard_queries() + alert_queries()
    assert len(queries) >= 20
    for where, names in queries:
        assert names, f"{where}: names no metric"
        assert names <= exported, f"{where}: {sorted(names - exported)} are not on /metrics"
    used = set().union(*(names for _, names in queries))
    for needed in ("bot_update_handling_seconds_bucket", "bot_deliveries_total",
                   "bot_delivery_send_seconds_bucket", "bot_delivery_wait_seconds_bucket",
                   "bot_delivery_rate_limited_total",
                   "bot_delivery_queue_depth", "bot_delivery_oldest_due_seconds",
                   "process_cpu_seconds_total", "process_resident_memory_bytes"):
        assert needed in used, f"nothing on the dashboard or in the alerts reads {needed}"


def test_the_alerts_cover_a_stuck_queue_a_429_storm_and_errors():
    rules = {r["alert"]: r for g in yaml.safe_load(ALERTS.read_text())["groups"]
             for r in g["rules"]}
    assert {"MektepDeliveryQueueStuck", "MektepTelegram429Storm",
            "MektepHandlerErrorRate"} <= set(rules)
    for name, rule in rules.items():
        assert rule.get("for") and rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get "
                                             "install prometheus); the rules' metric names "
                                             "are still checked above")
def test_promtool_accepts_the_rules_and_they_fire_as_designed():
    check = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run([PROMTOOL, "test", "rules", ALERT_TESTS.name], cwd=ALERTS.parent,
                          capture_output=True, text=True, timeout=120)
    assert unit.returncode == 0 and "SUCCESS" in unit.stdout, unit.stdout + unit.stderr
