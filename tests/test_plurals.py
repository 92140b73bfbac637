"""Counts agree with their noun in every language (real plural forms: kk 2, ru 3, en 2),
through the Dispatcher: what staff read after cancelling a webinar with 1, 3 or 5 registrants."""

from __future__ import annotations

import pytest

from bot.callbacks import WebinarAdminCD
from bot.services.stats.periods import MAX_PERIOD_DAYS
from tests.factories import make_staff, make_student
from tests.test_webinars import new_webinar, register

CANCELLED = {
    "ru": {1: "Вебинар отменён; уведомление получит 1 зарегистрированный участник.",
           3: "Вебинар отменён; уведомление получат 3 зарегистрированных участника.",
           5: "Вебинар отменён; уведомление получат 5 зарегистрированных участников."},
    "kk": {1: "Вебинар болдырылмады; тіркелген 1 адамға хабарланады.",
           3: "Вебинар болдырылмады; тіркелген 3 адамға хабарланады.",
           5: "Вебинар болдырылмады; тіркелген 5 адамға хабарланады."},
    "en": {1: "The webinar is cancelled; 1 registrant will be told.",
           3: "The webinar is cancelled; 3 registrants will be told.",
           5: "The webinar is cancelled; 5 registrants will be told."},
}


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
async def test_cancelling_a_webinar_counts_its_registrants_in_the_right_form(h, lang):
    await make_staff(h, locale=lang)
    staff = h.user(900)
    tg_id = 100
    for count in (1, 3, 5):
        wid = await new_webinar(h)
        for _ in range(count):
            tg_id += 1
            await make_student(h, tg_id)
            await register(h, tg_id, wid)
        await staff.press(WebinarAdminCD(action="cancel_yes", id=wid).pack())
        assert staff.last_text() == CANCELLED[lang][count]
    await h.drain()
    assert len([t for n in range(101, tg_id + 1) for t in h.api.texts(n)
                if "has been cancelled" in t]) == 9


@pytest.mark.parametrize(("lang", "expected"), [
    ("ru", f"Период может быть не длиннее {MAX_PERIOD_DAYS} дней."),
    ("kk", f"Кезең ең көбі {MAX_PERIOD_DAYS} күн бола алады."),
    ("en", f"A period can be at most {MAX_PERIOD_DAYS} days long."),
])
async def test_a_refusal_with_a_count_speaks_the_plural_form(h, lang, expected):
    await make_staff(h, locale=lang)
    await h.user(900).send("/stats 2020-01-01 2026-01-01")
    assert h.user(900).last_text() == expected
