"""Routers built per Dispatcher, and cheaper routing for them.

`Routes` declares a feature's handlers at import time; `router()` builds a fresh aiogram
Router from them each time a Dispatcher is built, so two apps in one process (tests, a
console restart) never share a router.

The Dispatcher tries every handler of every router in order, and for a button press that
means unpacking its callback data once per CallbackData filter of every router before the
right one (~15 routers); a message is tried against every state and command filter.
Router-level gates, computed from the handlers' own filters, keep aiogram's semantics and
skip routers that cannot match. What this needs of aiogram's private API is in
bot.aiogram_internals.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from aiogram import Dispatcher, Router
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.magic_filter import MagicFilter

from bot.access import command_prefix
from bot.aiogram_internals import GatedDispatcher, HandlerObject, callback_prefix
from bot.middlewares import HeavyReads, offloading

Callback = TypeVar("Callback", bound=Callable[..., Any])


class InlineFilter(Filter):
    """A synchronous filter (a magic F rule, a State, a StatesGroup) run in the event loop.

    aiogram runs every non-async filter through `asyncio.to_thread`: a thread hop for each
    filter of each handler tried, which cut throughput several times over. Ours are pure,
    cheap attribute checks, so calling them inline is both safe and much faster. The
    wrapper shows aiogram the inner filter's signature, so it is given what it names
    (e.g. raw_state) and nothing else.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._check = inner.resolve if isinstance(inner, MagicFilter) else inner
        self.__signature__ = inspect.signature(self._check)

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._check(*args, **kwargs)

    def __str__(self) -> str:
        return f"InlineFilter({self.inner!r})"


def inline(flt: Any) -> Any:
    """Filters that aiogram would await are kept; synchronous ones run inline."""
    if isinstance(flt, Filter) or inspect.iscoroutinefunction(flt):
        return flt
    return InlineFilter(flt)


class Routes:
    """A feature's handlers, declared at import; router() builds a fresh aiogram Router.

    Used like aiogram's Router: `routes = Routes(__name__)`, then `@routes.message(...)`.
    `flags` are the module's default handler flags (a handler's own flags win).
    """

    def __init__(self, name: str, *, flags: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.flags = dict(flags or {})
        self._declared: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def _declare(self, event: str, filters: tuple[Any, ...],
                 flags: Mapping[str, Any] | None) -> Callable[[Callback], Callback]:
        inlined = tuple(inline(f) for f in filters)
        merged = {**self.flags, **(flags or {})}

        def declare(callback: Callback) -> Callback:
            self._declared.append((event, callback, inlined, merged))
            return callback

        return declare

    def message(self, *filters: Any, flags: Mapping[str, Any] | None = None,
                ) -> Callable[[Callback], Callback]:
        return self._declare("message", filters, flags)

    def callback_query(self, *filters: Any, flags: Mapping[str, Any] | None = None,
                       ) -> Callable[[Callback], Callback]:
        return self._declare("callback_query", filters, flags)

    def my_chat_member(self, *filters: Any, flags: Mapping[str, Any] | None = None,
                       ) -> Callable[[Callback], Callback]:
        return self._declare("my_chat_member", filters, flags)

    def errors(self, *filters: Any, flags: Mapping[str, Any] | None = None,
               ) -> Callable[[Callback], Callback]:
        return self._declare("error", filters, flags)

    def router(self) -> Router:
        """A new Router with every declared handler, in declaration order. Handlers flagged
        HEAVY_DB are wrapped here, once (bot.middlewares.offloading), and their observer gets
        the HeavyReads middleware."""
        router = Router(name=self.name)
        heavy: set[str] = set()
        for event, callback, filters, flags in self._declared:
            if flags.get("heavy_db"):
                callback = offloading(callback)
                heavy.add(event)
            router.observers[event].register(callback, *filters, flags=dict(flags))
        for event in heavy:
            router.observers[event].middleware(HeavyReads())
        return router


def optimise_routing(dp: Dispatcher) -> None:
    """Give each router of `dp` its gates; call once per Dispatcher, after including them.

    A gate is an ordinary router-level filter (observer.filter). A GatedDispatcher also
    learns which routers it may skip without entering: those with a gate and no outer
    middleware of their own (a router's filters all must pass, so a refusing gate means
    UNHANDLED; a middleware would have run first).
    """
    for router in dp.chain_tail:
        if router is dp or router.sub_routers:  # a gate would shut out its sub-routers too
            continue
        for event, make_gate in (("callback_query", prefix_gate), ("message", message_gate)):
            observer = router.observers[event]
            gate = make_gate(observer.handlers)
            if gate is not None:
                observer.filter(gate)
            if isinstance(dp, GatedDispatcher):
                skip = gate is not None and not observer.outer_middleware
                dp.skip_gates[(router, event)] = gate if skip else None


class PrefixGate(Filter):
    """A router-level filter: only callbacks whose data prefix one of its handlers knows."""

    def __init__(self, prefixes: frozenset[str]) -> None:
        self.prefixes = prefixes

    async def __call__(self, callback: CallbackQuery) -> bool:
        return self.admits(callback, {})

    def admits(self, callback: CallbackQuery, data: dict[str, Any]) -> bool:
        return (callback.data or "").split(":", 1)[0] in self.prefixes


def _filter_of(flt: Any) -> Any:
    """The filter as written in the handler's decorator (InlineFilter unwrapped)."""
    callback = flt.callback
    return callback.inner if isinstance(callback, InlineFilter) else callback


def callback_prefixes(handlers: Iterable[HandlerObject]) -> frozenset[str] | None:
    """Prefixes of all CallbackData filters, or None if some handler could take any callback."""
    prefixes: set[str] = set()
    for handler in handlers:
        found = [callback_prefix(f.callback_data) for f in map(_filter_of, handler.filters or [])
                 if isinstance(f, CallbackQueryFilter)]
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


def _is_state_filter(target: Any) -> bool:
    return isinstance(target, (State, StateFilter, StatesGroup)) or (
        isinstance(target, type) and issubclass(target, StatesGroup))


def message_gate(handlers: Iterable[HandlerObject]) -> MessageGate | None:
    """None when some handler may take a plain message in any state."""
    states: set[str | None] = set()
    prefixes = ""
    for handler in handlers:
        gated = False
        for target in map(_filter_of, handler.filters or []):
            if isinstance(target, Command):
                prefixes += target.prefix
                gated = True
            elif _is_state_filter(target):
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
