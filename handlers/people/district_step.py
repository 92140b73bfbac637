"""The district step that /profile, /invite and /orgs share: a region's districts in pages,
and a typed part of a name searches them. The flow's state data holds `region_id` and
`district_query`; each flow keeps its own handlers for the choice itself and for "« Another
region" (what they do next differs). Registration has its own search (a failed search there
resets the pages, and a join link fixes the region)."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import PageCD
from bot.routing import Routes
from bot.services.places import PlaceDirectory
from handlers.people.registration import show_districts
from handlers.shared.errors import StaleButton

Prompt = Callable[[], str | None]


def staff_prompt() -> str:
    """Staff choose a district, not their own ("your district" is the person's own)."""
    return _("Which district or city? You can also type a part of its name:")


def own_prompt() -> None:
    """The person's own district: show_districts' default text."""
    return None


def declare(routes: Routes, step: State, prompt: Prompt = own_prompt,
            whole_region: bool = False) -> None:
    """Paging and search of the districts in `step` of the flow of `routes`."""

    async def on_district_page(cb: CallbackQuery, callback_data: PageCD, state: FSMContext,
                               places: PlaceDirectory, locale: str) -> None:
        data = await state.get_data()
        if callback_data.region != data.get("region_id"):
            raise StaleButton()
        await show_districts(cb.message, places, callback_data.region, callback_data.page,
                             data.get("district_query", ""), locale, edit=True,
                             prompt=prompt(), whole_region=whole_region)

    async def on_district_search(message: Message, state: FSMContext, places: PlaceDirectory,
                                 locale: str) -> None:
        query = (message.text or "")[:60]
        await state.update_data(district_query=query)
        await show_districts(message, places, (await state.get_data())["region_id"], 0, query,
                             locale, prompt=prompt(), whole_region=whole_region)

    routes.callback_query(step, PageCD.filter())(on_district_page)
    routes.message(step, F.text, ~F.text.startswith("/"))(on_district_search)
