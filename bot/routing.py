"""Cheaper routing for aiogram: the Dispatcher tries every handler of every router in order,
and for a button press that means unpacking its callback data once per CallbackData filter
of every router before the right one (~15 routers); a message is tried against every state
and command filter. Router-level gates, computed from the handlers' own filters, keep
aiogram's semantics and skip routers that cannot match."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.access import command_prefix


def optimise_routing(dp: Dispatcher) -> None:
    install_gates(dp, "callback_query", prefix_gate)
    install_gates(dp, "message", message_gate)
    inline_sync_filters(dp)


class PrefixGate(Filter):
    """A router-level filter: only callbacks whose data prefix one of its handlers knows."""

    def __init__(self, prefixes: frozenset[str]) -> None:
        self.prefixes = prefixes

    async def __call__(self, callback: CallbackQuery) -> bool:
        return self.admits(callback, {})

    def admits(self, callback: CallbackQuery, data: dict[str, Any]) -> bool:
        return (callback.data or "").split(":", 1)[0] in self.prefixes


def callback_prefixes(handlers: Iterable[HandlerObject]) -> frozenset[str] | None:
    """Prefixes of all CallbackData filters, or None if some handler could take any callback."""
    prefixes: set[str] = set()
    for handler in handlers:
        found = [f.callback.callback_data.__prefix__ for f in handler.filters or []
                 if isinstance(f.callback, CallbackQueryFilter)]
        if not found:
            return None
        prefixes.update(found)
    return frozenset(prefixes)


class MessageGate(Filter):
    """A router-level filter: a message gets in when it is a command and some handler takes
    commands, or the chat is in a state some handler takes."""

    def __init__(self, states: frozenset[str | None], command_prefixes: str) -> None:
        self.states, self.command_prefixes = states, command_prefixes

    async def __call__(self, message: Message, raw_state: str | None = None) -> bool:
        return self.admits(message, {"raw_state": raw_state})

    def admits(self, message: Message, data: dict[str, Any]) -> bool:
        if data.get("raw_state") in self.states:
            return True
        if not self.command_prefixes:
            return False
        # as aiogram's Command filter reads it: " /help" (NBSP or any space first) is one too
        prefix = command_prefix(message.text or message.caption)
        return bool(prefix) and prefix in self.command_prefixes


def _state_names(item: Any) -> set[str | None] | None:
    """The state names a State / StatesGroup / name stands for; None for "any state"."""
    if isinstance(item, State):
        return None if item.state == "*" else {item.state}
    if isinstance(item, StatesGroup):
        item = type(item)
    if isinstance(item, type) and issubclass(item, StatesGroup):
        return set(item.__all_states_names__)
    if item == "*":
        return None
    return {item} if item is None or isinstance(item, str) else None


def _required_states(target: Any) -> set[str | None] | None:
    items = target.states if isinstance(target, StateFilter) else (target,)
    names: set[str | None] = set()
    for item in items:
        found = _state_names(item)
        if found is None:
            return None
        names |= found
    return names


def message_gate(handlers: Iterable[HandlerObject]) -> MessageGate | None:
    """None when some handler may take a plain message in any state."""
    states: set[str | None] = set()
    prefixes = ""
    for handler in handlers:
        gated = False
        for flt in handler.filters or []:
            target = getattr(flt.callback, "__wrapped__", flt.callback)
            if isinstance(target, Command):
                prefixes += target.prefix
                gated = True
            elif isinstance(target, (State, StateFilter, StatesGroup)) or (
                    isinstance(target, type) and issubclass(target, StatesGroup)):
                required = _required_states(target)
                if required is not None:
                    states |= required
                    gated = True
        if not gated:
            return None
    return MessageGate(frozenset(states), "".join(sorted(set(prefixes))))


def prefix_gate(handlers: Iterable[HandlerObject]) -> PrefixGate | None:
    prefixes = callback_prefixes(handlers)
    return None if prefixes is None else PrefixGate(prefixes)


def install_gates(dp: Dispatcher, event: str, make_gate: Callable[..., Filter | None]) -> None:
    for router in dp.chain_tail:
        if router is dp:
            continue
        observer = router.observers[event]
        # Routers are module singletons re-attached to each new Dispatcher: replace, not add.
        observer._handler.filters = [f for f in observer._handler.filters or []
                                     if not isinstance(f.callback, (PrefixGate, MessageGate))]
        gate = make_gate(observer.handlers)
        if gate is not None:
            observer.filter(gate)
        if isinstance(dp, GatedDispatcher):
            alone = gate is not None and len(observer._handler.filters) == 1
            dp.skip_gates[(router, event)] = gate if alone and not observer.outer_middleware \
                else None


def inline_sync_filters(dp: Dispatcher) -> None:
    """Evaluate synchronous filters (F.… magic filters) in the event loop.

    aiogram runs every non-async filter through `asyncio.to_thread`: a thread hop for each
    filter of each handler tried, which cut throughput several times over. Ours are pure,
    cheap attribute checks, so calling them inline is both safe and much faster.
    """
    for router in dp.chain_tail:
        for observer in router.observers.values():
            for handler in [*observer.handlers, observer._handler]:
                for flt in handler.filters or []:
                    if not flt.awaitable:
                        flt.callback = _as_coroutine(flt.callback)
                        flt.awaitable = True


def _as_coroutine(func: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    call.__wrapped__ = func  # type: ignore[attr-defined]  # read again by the gates above
    return call


class GatedDispatcher(Dispatcher):
    """A Dispatcher that asks a sub-router's gate before entering it.

    Entering a router costs aiogram a middleware chain, a filter check and several wrapper
    objects even when its gate then says no, paid for each of the ~15 routers in front of the
    one that takes the update. A router whose only root filter is its gate and which has no
    outer middleware of its own returns UNHANDLED without running anything when the gate
    says no, so skipping it here changes nothing but the cost.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skip_gates: dict[tuple[Router, str], PrefixGate | MessageGate] = {}

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
