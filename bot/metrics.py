"""Per-process counters for /metrics (bot.webhook), in the Prometheus text format."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import ErrorEvent, TelegramObject

from bot.services.errors import DomainError


@dataclass
class Metrics:
    """Per-process counters, rendered in the Prometheus text format with cluster-wide gauges."""

    updates_handled: int = 0
    handler_errors: int = 0
    duplicate_updates: int = 0
    rejected_requests: int = 0
    deliveries: Counter[str] = field(default_factory=Counter)  # per process, by outcome

    def render(self, by_status: dict[str, int], queue_length: int | None) -> str:
        lines = [
            *_counter("bot_updates_handled_total", "Updates fed to the dispatcher.",
                      self.updates_handled),
            *_counter("bot_handler_errors_total", "Updates whose handler raised.",
                      self.handler_errors),
            *_counter("bot_duplicate_updates_total",
                      "Updates skipped: already handled, or being handled (answered 503).",
                      self.duplicate_updates),
            *_counter("bot_webhook_rejected_total",
                      "Webhook requests refused for a wrong or missing secret.",
                      self.rejected_requests),
            "# HELP bot_deliveries Delivery queue rows by status (all instances).",
            "# TYPE bot_deliveries gauge",
            *(f'bot_deliveries{{status="{s}"}} {n}' for s, n in sorted(by_status.items())),
        ]
        if self.deliveries:
            lines += ["# HELP bot_deliveries_processed_total Deliveries sent by this process, "
                      "by outcome.", "# TYPE bot_deliveries_processed_total counter"]
            lines += [f'bot_deliveries_processed_total{{outcome="{o}"}} {n}'
                      for o, n in sorted(self.deliveries.items())]
        if queue_length is not None:
            lines += ["# HELP bot_delivery_queue_length Deliveries waiting to be sent.",
                      "# TYPE bot_delivery_queue_length gauge",
                      f"bot_delivery_queue_length {queue_length}"]
        return "\n".join(lines) + "\n"


def _counter(name: str, help_text: str, value: int) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]


class ErrorCounter(BaseMiddleware):
    """Outer middleware of dp.errors: counts the updates whose handler failed. A DomainError
    is not one: it is the person's mistake, answered by handlers/shared/errors.py."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if not (isinstance(event, ErrorEvent) and isinstance(event.exception, DomainError)):
            self.metrics.handler_errors += 1
        return await handler(event, data)
