"""Every use of aiogram's private API, in one place.

These buy speed on the hot path (see bot.routing) and are not part of aiogram's public
contract: a new aiogram version may change them without notice. tests/test_aiogram_internals.py
checks each one and names this module when an upgrade breaks it; nothing else in bot/,
handlers/ or db/ may touch aiogram's internals (tests/test_architecture.py, rule R9).

- GatedDispatcher overrides Dispatcher._propagate_event (and reads an observer's root
  filters, `_handler`) to skip routers whose gate refuses an update without entering them.
- UNHANDLED is the marker aiogram returns for an update no handler took.
- callback_prefix reads CallbackData.__prefix__.
- memoise_unpack replaces CallbackData.unpack with a cached one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters.callback_data import CallbackData

if TYPE_CHECKING:
    from aiogram.dispatcher.event.telegram import TelegramEventObserver
    from aiogram.types import TelegramObject

__all__ = ["UNHANDLED", "Gate", "GatedDispatcher", "HandlerObject", "callback_prefix",
           "memoise_unpack"]


class Gate(Protocol):
    """A router-level filter that can also answer synchronously (bot.routing's gates)."""

    def admits(self, event: Any, data: dict[str, Any]) -> bool: ...


class GatedDispatcher(Dispatcher):
    """A Dispatcher that asks a sub-router's gate before entering it.

    Entering a router costs aiogram a middleware chain, a filter check and several wrapper
    objects even when its gate then says no, paid for each of the ~15 routers in front of the
    one that takes the update. A router whose gate refuses and which has no outer middleware
    of its own returns UNHANDLED without running anything (its root filters all must pass),
    so skipping it here changes nothing but the cost. `skip_gates` is filled by
    bot.routing.optimise_routing.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skip_gates: dict[tuple[Router, str], Gate | None] = {}

    async def _propagate_event(self, observer: TelegramEventObserver | None, update_type: str,
                               event: TelegramObject, **kwargs: Any) -> Any:
        if observer is not None and (observer.handlers or observer._handler.filters):
            return await super()._propagate_event(observer, update_type, event, **kwargs)
        for router in self.sub_routers:
            gate = self.skip_gates.get((router, update_type))
            if gate is not None and not gate.admits(event, kwargs):
                continue
            response = await router.propagate_event(update_type=update_type, event=event,
                                                    **kwargs)
            if response is not UNHANDLED:
                return response
        return UNHANDLED


def callback_prefix(factory: type[CallbackData]) -> str:
    """The prefix a CallbackData class packs its buttons with."""
    return factory.__prefix__


def memoise_unpack(module: str) -> None:
    """aiogram unpacks a button's data once per CallbackData filter it tries — several per
    router — into a new object each time. The same string always gives the same fields, and
    handlers only read them, so each factory of `module` keeps its recent results."""
    for factory in CallbackData.__subclasses__():
        if factory.__module__ == module:
            cached: Callable[[str], CallbackData] = lru_cache(maxsize=4096)(factory.unpack)
            factory.unpack = staticmethod(cached)  # type: ignore[method-assign,assignment]
