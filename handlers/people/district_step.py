"""The district step that registration, /profile, /invite and /orgs share: a region's
districts in pages, and a typed part of a name searches them. The flow's state data holds
`region_id` and `district_query`; each flow keeps its own handlers for the choice itself and
for "« Another region" (what they do next differs). Registration searches on its own (a
failed search there resets the pages, and a join link fixes the region)."""

from __future__ import annotations

import html
from collections.abc import Callable

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import PageCD
from bot.routing import Routes
from bot.services.errors import DomainError
from bot.services.places import Place, PlaceDirectory
from handlers.shared.errors import StaleButton
from handlers.shared.keyboards import district_kb

Prompt = Callable[[], str | None]


def staff_prompt() -> str:
    """Staff choose a district, not their own ("your district" is the person's own)."""
    return _("Which district or city? You can also type a part of its name:")


def own_prompt() -> None:
    """The person's own district: show_districts' default text."""
    return None


async def show_districts(message: Message, places: PlaceDirectory, region_id: int, page: int,
                         query: str, locale: str, edit: bool = False,
                         prompt: str | None = None, whole_region: bool = False) -> None:
    items, pages = places.district_page(region_id, page, query)
    if query and not items:
        await message.answer(_("Nothing found for “{query}”. Try another spelling or choose "
                               "from the list:").format(query=html.escape(query)))
        items, pages = places.district_page(region_id, 0)
    text = prompt or _("Choose your district or city. You can also type a part of its name:")
    markup = district_kb(items, locale, region_id, min(page, pages - 1), pages, whole_region)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


def region_of(places: PlaceDirectory, value: str) -> Place:
    """The region a button names (a stale or forged one is refused)."""
    region = places.region_from(value)
    if region is None:
        raise DomainError("unknown_region")
    return region


async def ask_district(message: Message, state: FSMContext, places: PlaceDirectory,
                       region_id: int, locale: str, step: State, prompt: Prompt = own_prompt,
                       whole_region: bool = False, keep: bool = False) -> None:
    """Into `step` with the region's first page; `keep` the flow's earlier answers (else
    the state data starts afresh)."""
    await state.set_state(step)
    if keep:
        await state.update_data(region_id=region_id, district_query="")
    else:
        await state.set_data({"region_id": region_id, "district_query": ""})
    await show_districts(message, places, region_id, 0, "", locale, prompt=prompt(),
                         whole_region=whole_region)


def declare(routes: Routes, step: State, prompt: Prompt = own_prompt,
            whole_region: bool = False, search: bool = True) -> None:
    """Paging (and with `search`, searching) the districts in `step` of `routes`' flow."""

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
    if search:
        routes.message(step, F.text, ~F.text.startswith("/"))(on_district_search)
