"""What bot/aiogram_internals.py (and bot.routing through it) takes from aiogram beyond its
public contract. When an aiogram upgrade changes one of these, the failing test says what to
re-check there; nothing else in the bot touches aiogram's internals (test_architecture R9).
"""

from __future__ import annotations

import inspect
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import Message, Update

from bot import callbacks
from bot.aiogram_internals import (
    UNHANDLED,
    GatedDispatcher,
    callback_prefix,
    memoise_unpack,
)
from bot.app import LOCAL_TOKEN
from bot.local_api import LocalSession
from bot.routing import Routes, optimise_routing


def recheck(what: str) -> str:
    return f"aiogram changed: re-check {what} in bot/aiogram_internals.py"


def _bot() -> Bot:
    return Bot(LOCAL_TOKEN, session=LocalSession())


def _press(data: str) -> Update:
    return Update.model_validate({"update_id": 1, "callback_query": {
        "id": "1", "chat_instance": "c", "data": data,
        "from": {"id": 5, "is_bot": False, "first_name": "U"}}})


def _text(text: str) -> Update:
    return Update.model_validate({"update_id": 2, "message": {
        "message_id": 1, "date": 0, "text": text, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "U"}}})


class ProbeCD(CallbackData, prefix="probe"):
    n: int


class OtherCD(CallbackData, prefix="other"):
    n: int


def test_propagate_event_has_the_signature_gated_dispatcher_overrides():
    names = list(inspect.signature(Dispatcher._propagate_event).parameters)
    assert names == ["self", "observer", "update_type", "event", "kwargs"], recheck(
        "GatedDispatcher._propagate_event")


async def test_a_router_whose_gate_refuses_is_not_entered():
    seen: list[str] = []
    first, second = Routes("first"), Routes("second")
    first.callback_query(ProbeCD.filter())(lambda cb: seen.append("first"))
    second.callback_query(OtherCD.filter())(lambda cb: seen.append("second"))
    dp = GatedDispatcher(disable_fsm=True)
    gated, other = first.router(), second.router()
    dp.include_routers(gated, other)
    optimise_routing(dp)
    entered: list[str] = []
    enter = gated.propagate_event

    async def entering(*args: Any, **kwargs: Any) -> Any:
        entered.append("first")
        return await enter(*args, **kwargs)

    gated.propagate_event = entering  # type: ignore[method-assign]
    await dp.feed_update(_bot(), _press("other:1"))
    assert entered == [] and seen == ["second"], recheck("GatedDispatcher (skip_gates)")
    await dp.feed_update(_bot(), _press("probe:2"))
    assert entered == ["first"] and seen == ["second", "first"], recheck("GatedDispatcher")


async def test_an_update_nobody_takes_comes_back_as_unhandled():
    dp = GatedDispatcher(disable_fsm=True)
    dp.include_router(Router())
    assert await dp.feed_update(_bot(), _text("hello")) is UNHANDLED, recheck("UNHANDLED")


def test_root_filters_are_where_gated_dispatcher_reads_them():
    router = Router()
    gate = F.text
    router.message.filter(gate)
    assert [f.magic for f in router.message._handler.filters] == [gate], recheck(
        "observer._handler.filters (GatedDispatcher)")


def test_every_callback_factory_packs_with_the_prefix_we_read():
    factories = [f for f in vars(callbacks).values()
                 if isinstance(f, type) and issubclass(f, CallbackData) and f is not CallbackData]
    assert len(factories) > 10
    for factory in factories:
        sample = {name: {int: 1, bool: True, str: "x"}[field.annotation]
                  for name, field in factory.model_fields.items()}
        packed = factory(**sample).pack()
        assert packed.split(":")[0] == callback_prefix(factory), recheck("callback_prefix")


async def test_callback_filters_unpack_through_the_factorys_unpack():
    """memoise_unpack caches CallbackData.unpack: aiogram's filter must still call it."""
    assert isinstance(inspect.getattr_static(CallbackData, "unpack"), classmethod), recheck(
        "memoise_unpack (CallbackData.unpack is no classmethod)")

    class CachedCD(CallbackData, prefix="cached"):
        n: int

    memoise_unpack(__name__)
    routes = Routes("cached")
    taken: list[int] = []
    routes.callback_query(CachedCD.filter())(lambda cb, callback_data: taken.append(
        callback_data.n))
    dp = GatedDispatcher(disable_fsm=True)
    dp.include_router(routes.router())
    for _ in range(3):
        await dp.feed_update(_bot(), _press("cached:7"))
    assert taken == [7, 7, 7]
    info = CachedCD.unpack.cache_info()  # type: ignore[attr-defined]
    assert (info.misses, info.hits) == (1, 2), recheck("memoise_unpack")
    assert CachedCD.unpack("cached:8") == CachedCD(n=8)


async def test_a_filter_gets_only_the_data_its_signature_names():
    """bot.routing.InlineFilter shows aiogram its inner filter's signature and is awaited
    as every Filter is (no thread hop); the data it is given follows that signature."""
    given: list[tuple[Any, ...]] = []

    class Probe(Filter):
        def __init__(self) -> None:
            self.__signature__ = inspect.signature(lambda message, raw_state=None: None)

        async def __call__(self, *args: Any, **kwargs: Any) -> bool:
            given.append((*args, *sorted(kwargs)))
            return True

    router = Router()
    router.message(Probe())(lambda message: None)
    dp = Dispatcher()
    dp.include_router(router)
    await dp.feed_update(_bot(), _text("hi"))
    assert len(given) == 1 and isinstance(given[0][0], Message)
    assert given[0][1:] == ("raw_state",), "aiogram changed how filters get data: " \
        "re-check bot.routing.InlineFilter"


def test_commands_are_still_commands_to_the_gates():
    """bot.routing's MessageGate reads Command.prefix off the handlers' filters."""
    assert Command("help").prefix == "/", "re-check bot.routing.message_gate"


def test_every_button_factory_of_the_bot_is_memoised():
    """A factory declared below `memoise_unpack(__name__)` in bot/callbacks.py would silently
    unpack afresh for every filter that tries it."""
    import bot.callbacks

    factories = [f for f in CallbackData.__subclasses__()
                 if f.__module__ == bot.callbacks.__name__]
    assert len(factories) > 20
    plain = [f.__name__ for f in factories
             if isinstance(inspect.getattr_static(f, "unpack"), classmethod)]
    assert plain == [], f"declare these above memoise_unpack in bot/callbacks.py: {plain}"
