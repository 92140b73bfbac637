"""Issue 17, "pick people, not ids": jurors and new staff are named by a part of their name,
by @username, with Telegram's own picker (users_shared) or a shared contact; a Telegram id
still works. Whoever cannot serve is told exactly why; a juror recused from every entry is
told so; reminder counts agree with their noun. Through the Dispatcher, in kk and ru."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from bot.callbacks import BroadcastCD, ChallengeAdminCD, ChallengeCD, ConfirmCD
from bot.notices.broadcasts import broadcasts_tick
from bot.services import people
from db.models import Broadcast, User
from db.models.challenges import JuryMember
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import BotHarness
from tests.test_challenges import new_challenge

STAFF = 900

WORDS = {
    "kk": {
        "ask": "Қазылар алқасына кімді қосасыз? Аты-жөнінің бір бөлігін не @username атын "
               "жазыңыз немесе төмендегі «👤 Telegram-нан таңдау» батырмасымен таңдаңыз "
               "(Telegram ID нөмірі де жарайды).",
        "added": "{name} енді қазылар алқасының құрамында және шақыру алады.",
        "no_username": "@nobody_here атымен тіркелген адам табылмады (бот бұл атты адам ботқа "
                       "жазғанда біледі). Аты-жөнінің бір бөлігін жазыңыз немесе батырмамен "
                       "таңдаңыз.",
        "several": "Бірнеше адам табылды. Кімді айтып тұрсыз?",
        "unregistered": "Бұл адам ботта тіркелмеген. Алдымен ботқа /start жіберіп, тіркелуін "
                        "сұраңыз.",
        "no_account": "Бұл контактінің Telegram тіркелгісі жоқ. Telegram-дағы контактіні "
                      "бөлісіңіз немесе аты-жөнін жазыңыз.",
        "pending": "Ерлан Ахметов — өтінімі әлі мақұлдауды күтіп тұрған үйлестіруші: алдымен "
                   "/pending арқылы шешім қабылдаңыз.",
        "guardian": "Дана Ержанова ата-анасының немесе заңды өкілінің растауын күтуде: растау "
                    "келгенше оған ештеңе тағайындалмайды.",
        "rejected": "Әсем Болатова: үйлестіруші болу өтінімі қабылданбады, сондықтан аккаунты "
                    "белсенді емес.",
        "already": "Айгерім Қасымова қазірдің өзінде осы қазылар алқасының құрамында.",
        "unknown_id": "Telegram ID 99999 бойынша тіркелген пайдаланушы табылмады.",
        "recused": "Бұл байқаудың бірде-бір жұмысын бағалай алмайсыз: әрқайсысы не "
                   "өзіңіздікі, не өз облысыңыздан немесе ұйымыңыздан, ал қазы ондай "
                   "жұмыстарды бағаламайды. Сізден ештеңе талап етілмейді.",
        "recused_line": "• Айгерім Қасымова: бірде-бір жұмысты бағалай алмайды (өз облысы не "
                        "ұйымы)",
        "start": "Бағалауды бастау",
        "promote_ask": "Кімді орталық қызметкері етесіз?",
        "promote_q": "Осы адамды орталық қызметкері етесіз бе?",
        "demote_usage": "Қолданылуы: /demote &lt;аты-жөнінің бір бөлігі, @username немесе "
                        "Telegram ID&gt; (орталық қызметкері).",
        "demote_q": "Бұл адамнан қызметкер құқықтарын алып тастау керек пе?",
        "not_staff": "Бұл пайдаланушы орталық қызметкері емес.",
        "remind_button": "🔔 Растамаған 1 адамға еске салу",
        "reminded": "Еске салу 1 адамға жіберіледі.",
    },
    "ru": {
        "ask": "Кого добавить в жюри? Напишите часть имени или @username либо выберите "
               "человека кнопкой «👤 Выбрать в Telegram» внизу (подойдёт и Telegram id).",
        "added": "{name} теперь в составе жюри и получит приглашение.",
        "no_username": "Среди зарегистрированных нет никого с именем пользователя @nobody_here "
                       "(бот узнаёт его, когда человек пишет боту). Напишите часть имени или "
                       "выберите человека кнопкой.",
        "several": "Подходят несколько человек. Кого вы имеете в виду?",
        "unregistered": "Этот человек не зарегистрирован в боте. Попросите его сначала "
                        "отправить боту /start и зарегистрироваться.",
        "no_account": "У этого контакта нет аккаунта Telegram. Поделитесь контактом из "
                      "Telegram или напишите имя.",
        "pending": "Ерлан Ахметов — координатор, чья заявка ещё ждёт одобрения: сначала "
                   "примите решение в /pending.",
        "guardian": "Дана Ержанова ожидает подтверждения родителя или законного "
                    "представителя: до подтверждения ничего назначить нельзя.",
        "rejected": "Әсем Болатова: заявка на роль координатора отклонена, поэтому аккаунт не "
                    "активен.",
        "already": "Айгерім Қасымова уже в составе этого жюри.",
        "unknown_id": "Нет зарегистрированного пользователя с Telegram id 99999.",
        "recused": "Вы не можете оценить ни одной работы этого конкурса: каждая либо ваша, "
                   "либо из вашей области или организации, а член жюри такие работы не "
                   "оценивает. От вас ничего не требуется.",
        "recused_line": "• Айгерім Қасымова: не может оценивать ни одной работы (своя область "
                        "или организация)",
        "start": "Начать оценку",
        "promote_ask": "Кого сделать сотрудником центра?",
        "promote_q": "Сделать этого человека сотрудником центра?",
        "demote_usage": "Как пользоваться: /demote &lt;часть имени, @username или Telegram "
                        "id&gt; (сотрудник центра).",
        "demote_q": "Лишить этого человека прав сотрудника?",
        "not_staff": "Этот пользователь не сотрудник центра.",
        "remind_button": "🔔 Напомнить 1 неподтвердившему",
        "reminded": "Напоминание получит 1 человек.",
    },
}
LANGS = pytest.mark.parametrize("lang", ["kk", "ru"])


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h


async def person(h, make, tg_id: int, name: str, **kwargs) -> User:
    """Someone registered (make_student / make_coordinator) with this name."""
    user = await make(h, tg_id, **kwargs)
    async with h.app.sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.id == user.id).values(full_name=name))
    h.app.users.forget(tg_id)
    return user


async def contest(h, lang: str, region_code: str = "astana") -> int:
    """A contest with one approved entry (from `region_code`), one criterion, quorum 1;
    staff speak `lang`."""
    from tests.test_challenges_jury import submit

    await make_staff(h, locale=lang)
    cid = await new_challenge(h, "contest", content=("text",))
    await make_student(h, 101, region_code=region_code)
    await submit(h, 101, cid, "my essay")
    s = h.user(STAFF)
    await s.press("rv:ok:1:")
    await s.press(ChallengeAdminCD(action="jcrit", id=cid).pack())
    await s.send("Идея | Идея | Idea")
    await s.press(ChallengeAdminCD(action="jq", id=cid).pack())
    await s.send("1")
    return cid


async def jurors(h, cid: int) -> set[int]:
    async with h.app.sessionmaker() as s:
        return set((await s.scalars(select(User.tg_id).join(
            JuryMember, JuryMember.user_id == User.id).where(
            JuryMember.challenge_id == cid))).all())


async def add_juror(h, cid: int) -> None:
    await h.user(STAFF).press(ChallengeAdminCD(action="jadd", id=cid).pack())


def shared_user(tg_id: int, request_id: int) -> dict:
    return {"users_shared": {"request_id": request_id, "users": [{"user_id": tg_id}]}}


@LANGS
async def test_a_juror_is_named_by_username_or_by_a_part_of_the_name(h, lang):
    w = WORDS[lang]
    cid = await contest(h, lang)
    await person(h, make_student, 2001, "Айгерім Қасымова", region_code="abai")
    await person(h, make_student, 2002, "Айгерім Нұрланова", region_code="abai")
    await person(h, make_student, 2003, "Бауыржан Сейтов", region_code="abai")
    await h.user(2001, username="Aigerim_K").send("/help")  # the bot learns the username
    s = h.user(STAFF)
    await add_juror(h, cid)
    assert s.last_text() == w["ask"]
    picker = h.api.last(STAFF).params["reply_markup"]["keyboard"][0][0]
    assert picker["request_users"]["request_id"] == 2
    assert picker["request_users"]["max_quantity"] == 1
    await s.send("@nobody_here")
    assert s.last_text() == w["no_username"]
    await s.send("@aigerim_k")  # any case; the prompt was still open
    assert s.texts()[-2] == w["added"].format(name="Айгерім Қасымова")
    assert "Айгерім Қасымова: 0 / 1" in s.last_text()
    await add_juror(h, cid)
    await s.send("айгерім")  # two people: buttons to choose from
    assert s.last_text() == w["several"]
    assert [b.split(" · ")[0] for b in s.buttons()] == ["Айгерім Нұрланова",
                                                       "Айгерім Қасымова"]
    await s.click("Айгерім Нұрланова")
    assert s.texts()[-2] == w["added"].format(name="Айгерім Нұрланова")
    await add_juror(h, cid)
    await s.send("сейтов")  # one person: added at once
    assert s.texts()[-2] == w["added"].format(name="Бауыржан Сейтов")
    assert await jurors(h, cid) == {2001, 2002, 2003}
    await h.drain()
    for tg in (2001, 2002, 2003):
        assert h.user(tg).buttons() == ["Start judging"]  # each got the invitation


@LANGS
async def test_a_juror_is_chosen_with_telegrams_picker_or_a_shared_contact(h, lang):
    w = WORDS[lang]
    cid = await contest(h, lang)
    await person(h, make_student, 2001, "Айгерім Қасымова", region_code="abai")
    await person(h, make_student, 2002, "Бауыржан Сейтов", region_code="abai")
    s = h.user(STAFF)
    await add_juror(h, cid)
    await s.send_content(**shared_user(5555, 2))  # somebody who never registered
    assert s.last_text() == w["unregistered"]
    await s.send_content(**shared_user(2001, 2))
    assert s.texts()[-2] == w["added"].format(name="Айгерім Қасымова")
    assert h.api.last(STAFF).params.get("reply_markup") is not None  # the panel's buttons
    assert h.api.of("sendMessage", STAFF)[-2].params["reply_markup"] == {
        "remove_keyboard": True}  # the picker's keyboard goes away
    await add_juror(h, cid)
    await s.send_content(contact={"phone_number": "+77001112233", "first_name": "Мама"})
    assert s.last_text() == w["no_account"]
    await s.send_content(contact={"phone_number": "+77001112234", "first_name": "Бауыржан",
                                  "user_id": 2002})
    assert s.texts()[-2] == w["added"].format(name="Бауыржан Сейтов")
    assert await jurors(h, cid) == {2001, 2002}


@LANGS
async def test_who_cannot_serve_on_the_jury_is_told_exactly_why(h, lang):
    w = WORDS[lang]
    cid = await contest(h, lang)
    await person(h, make_student, 2001, "Айгерім Қасымова", region_code="abai")
    await person(h, make_coordinator, 2101, "Ерлан Ахметов", status="pending")
    minor = await person(h, make_student, 2102, "Дана Ержанова")
    await person(h, make_coordinator, 2103, "Әсем Болатова", status="rejected")
    async with h.app.sessionmaker() as db, db.begin():
        await db.execute(update(User).where(User.id == minor.id).values(limited=True))
    h.app.users.forget(2102)
    s = h.user(STAFF)
    await add_juror(h, cid)
    await s.send("2001")
    await add_juror(h, cid)
    for answer, why in (("Ахметов", "pending"), ("2102", "guardian"), ("Болатова", "rejected"),
                        ("2001", "already"), ("99999", "unknown_id")):
        await s.send(answer)  # the prompt stays open after each refusal
        assert s.last_text() == w[why], answer
    assert await jurors(h, cid) == {2001}


@LANGS
async def test_a_juror_recused_from_every_entry_is_told_so_not_0_of_0(h, lang):
    w = WORDS[lang]
    cid = await contest(h, lang, region_code="abai")  # the only entry is from Abai
    await person(h, make_student, 2001, "Айгерім Қасымова", region_code="abai", locale=lang)
    s, j = h.user(STAFF), h.user(2001)
    await add_juror(h, cid)
    await s.send("2001")
    assert w["recused_line"] in s.last_text() and "0 / 0" not in s.last_text()
    await h.drain()
    await j.click(w["start"])
    assert j.last_text() == w["recused"]
    await j.press(ChallengeCD(action="jury", id=cid).pack())  # /judge's button: the same
    assert j.last_text() == w["recused"]


@LANGS
async def test_staff_are_promoted_by_username_or_with_telegrams_picker(h, lang):
    w = WORDS[lang]
    await make_staff(h, locale=lang)
    await person(h, make_student, 2001, "Айгерім Қасымова")
    minor = await person(h, make_student, 2102, "Дана Ержанова")
    async with h.app.sessionmaker() as db, db.begin():
        await db.execute(update(User).where(User.id == minor.id).values(limited=True))
    h.app.users.forget(2102)
    await h.user(2001, username="aigerim_k").send("/help")
    s = h.user(STAFF)
    await s.send("/promote @Aigerim_K")
    assert s.last_text().startswith(w["promote_q"]) and "Айгерім Қасымова" in s.last_text()
    await s.click("✅")
    assert h.api.last(STAFF).params["reply_markup"] == {"remove_keyboard": True}
    async with h.app.sessionmaker() as db:
        assert (await db.scalar(select(User.role).where(User.tg_id == 2001))) == "staff"
    await s.send("/promote")
    assert s.last_text().startswith(w["promote_ask"])
    keyboard = h.api.last(STAFF).params["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_users"]["request_id"] == 1
    await s.send_content(**shared_user(2102, 1))
    assert s.last_text() == w["guardian"]
    await s.send("/cancel")  # the picker's keyboard goes with the prompt
    assert h.api.last(STAFF).params["reply_markup"] == {"remove_keyboard": True}
    async with h.app.sessionmaker() as db:
        assert (await db.scalar(select(User.role).where(User.tg_id == 2102))) == "student"


@LANGS
async def test_staff_are_demoted_by_name_not_only_by_id(h, lang):
    w = WORDS[lang]
    await make_staff(h, locale=lang)
    await person(h, make_staff, 901, "Ержан Сапаров")
    await person(h, make_staff, 902, "Ержан Омаров")
    await person(h, make_student, 2001, "Айгерім Қасымова")
    s = h.user(STAFF)
    await s.send("/demote")
    assert s.last_text() == w["demote_usage"]
    await s.send("/demote Қасымова")  # found, but not staff: said so
    assert s.last_text() == w["not_staff"]
    await s.send("/demote ержан")  # two: buttons
    assert [b.split(" · ")[0] for b in s.buttons()] == ["Ержан Омаров", "Ержан Сапаров"]
    await s.click("Ержан Сапаров")
    assert s.last_text().startswith(w["demote_q"]) and "Ержан Сапаров" in s.last_text()
    await s.click("✅")
    async with h.app.sessionmaker() as db:
        roles = dict((await db.execute(select(User.tg_id, User.role).where(
            User.tg_id.in_((901, 902))))).all())
    assert roles == {901: "student", 902: "staff"}


async def test_usernames_are_kept_current_cheaply_and_erased_with_deleteme(h):
    await make_student(h, 2001)
    await make_student(h, 2002)
    writes: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.startswith("UPDATE users SET username"):
            writes.append(statement)

    event.listen(h.app.engine.sync_engine, "before_cursor_execute", count)

    async def stored() -> dict[int, str | None]:
        async with h.app.sessionmaker() as s:
            return dict((await s.execute(select(User.tg_id, User.username).where(
                User.tg_id.in_((2001, 2002))))).all())

    await h.user(2001, username="Aigerim_K").send("/help")
    assert await stored() == {2001: "aigerim_k", 2002: None}
    first = len(writes)
    await h.user(2001, username="Aigerim_K").send("/help")
    await h.user(2001, username="Aigerim_K").send("/profile")
    assert len(writes) == first  # unchanged: nothing written
    # 2002 takes the name 2001 had (2001 changed theirs and has not written since)
    await h.user(2002, username="aigerim_k").send("/help")
    assert await stored() == {2001: None, 2002: "aigerim_k"}
    await h.user(2002).send("/help")  # no username any more
    assert await stored() == {2001: None, 2002: None}
    await h.user(2001, username="Aigerim_K").send("/deleteme")
    await h.user(2001, username="Aigerim_K").press(ConfirmCD(action="erase", yes=True).pack())
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(User.username).where(User.status == "erased")) is None
    event.remove(h.app.engine.sync_engine, "before_cursor_execute", count)


@LANGS
async def test_reminder_counts_agree_with_their_noun(h, lang):
    w = WORDS[lang]
    await make_coordinator(h, 201, level="district", district_index=0, locale=lang)
    for tg in (101, 102, 103):
        await make_student(h, tg, district_index=0, locale=lang)
    u = h.user(201)
    await u.send("/broadcast")
    await u.send("Meeting on Friday")
    await u.press(BroadcastCD(action="aud", value="students").pack())
    await u.press(BroadcastCD(action="ack", value="received").pack())
    await u.press(BroadcastCD(action="send").pack())
    await h.drain()
    for tg in (101, 102):
        await h.user(tg).press(h.api.last(tg).params["reply_markup"]["inline_keyboard"][0][0]
                               ["callback_data"])
    await broadcasts_tick(h.app)
    async with h.app.sessionmaker() as s:
        bc_id = await s.scalar(select(Broadcast.id))
    await u.press(BroadcastCD(action="acks", value=str(bc_id)).pack())
    assert u.buttons() == [w["remind_button"]]
    await u.click(w["remind_button"])
    assert u.last_text() == w["reminded"]


async def test_a_coordinators_scope_bounds_whom_she_can_name(h):
    """The picker searches within the actor's scope (staff: everyone); someone outside it
    is refused as such, not as unknown."""
    coordinator = await make_coordinator(h, 201, level="district", district_index=0)
    await person(h, make_student, 2001, "Айгерім Қасымова", district_index=0)
    await person(h, make_student, 2002, "Айгерім Нұрланова", district_index=1)
    scope = people.scope_of(coordinator)
    async with h.app.sessionmaker() as s:
        found = await people.find(s, "айгерім", scope)
        assert [u.tg_id for u in found.people] == [2001]
        found = await people.find(s, "Нұрланова", scope)
        assert found.why.code == "name_outside_scope"
        found = await people.find(s, "2002", scope)
        assert found.why.code == "person_outside_scope"
        found = await people.find(s, "Нұрланова", people.EVERYONE)
        assert [u.tg_id for u in found.people] == [2002]


async def test_a_username_is_stored_at_registration_and_names_the_juror_at_once(h):
    from tests.test_registration import register_student

    cid = await contest(h, "ru")
    async with h.app.sessionmaker() as db, db.begin():  # a stale holder of the name
        stale = await make_student(h, 2002)
        await db.execute(update(User).where(User.id == stale.id).values(username="dana_99"))
    u = h.user(2001, "Дана", username="Dana_99")
    await register_student(u, "Русский", district="Семей")
    await u.click("Даю согласие")
    async with h.app.sessionmaker() as db:
        names = dict((await db.execute(select(User.tg_id, User.username).where(
            User.tg_id.in_((2001, 2002))))).all())
    assert names == {2001: "dana_99", 2002: None}
    s = h.user(STAFF)
    await add_juror(h, cid)
    await s.send("@dana_99")
    assert s.texts()[-2] == WORDS["ru"]["added"].format(name="Дана")
    assert await jurors(h, cid) == {2001}
