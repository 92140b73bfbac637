"""The scripted tour (`make demo` = `python -m bot console --tour`): registration, a contest
from its creation to the certificates, a webinar with its reminders and attendance, and a
broadcast with acknowledgements, all in Kazakh, played by the console on a database of its
own. Lines starting with "#" are the story's narration. Dates are set relative to today, so
every run sees the same story: the bot's clock is moved with /clock.

tests/test_console_tour.py plays it and checks what each person received.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

TOUR = """\
# A scripted tour of the bot: a few days of the School Parliament, played in Kazakh by four
# people. Lines with "[id]>" are what each of them types; "bot:" is the bot's answer to them
# and "bot → to id:" what reaches someone else. Files the bot sends are saved, path shown.
#
# ═══ 1. Тіркелу · Registration ═══
# The centre's staff member Әсел (Telegram id 900, in STAFF_IDS) opens the bot.
/as 900 Әсел Нұрланова
/start
Қазақша
Келісемін
# Two members of the parliament register: Аружан from a school, Нұрсұлтан from a college.
/as 3001 Аружан Қайратқызы
/start
Қазақша
Парламент мүшесі
Мектеп
Түркістан облысы
сайрам
Сайрам ауданы
№45 Ақсу мектебі
Бақыт
Фракция мүшесі
10
16–17
Келісемін
/as 3002 Нұрсұлтан Ержанұлы
/start
Қазақша
Парламент мүшесі
Колледж
Түркістан облысы
сайрам
Сайрам ауданы
Сайрам гуманитарлық-техникалық колледжі
Қамқорлық
Фракция жетекшісі
2
18
Келісемін
# Сәуле asks to become the district coordinator of Сайрам ауданы.
/as 4001 Сәуле Жұмабекова
/start
Қазақша
Үйлестіруші
Аудандық
Мектеп
Түркістан облысы
сайрам
Сайрам ауданы
# The district's schools are listed (Аружан's is there); hers is not: she adds it.
Тізімде жоқ
Сайрам ауданының білім бөлімі
Келісемін
# Her request waits for Әсел as buttons; switching to 900 lists them.
/as 900
Мақұлдау
#
# ═══ 2. Байқау · A contest, from the idea to the certificates ═══
# Әсел creates a contest. Nominations and age categories are typed as several lines at once.
/newchallenge
Байқау
Шексіз шығармашылық
Безграничное творчество
Limitless creativity
Оқушылардың шығармашылық байқауы: өлең, сурет, бейнеролик.
Творческий конкурс школьников: стихи, рисунки, видео.
Өткізіп жіберу
Әрі қарай
Әрі қарай
Қазір
{deadline}
<<<
Әдебиет | Литература | Literature
Бейнелеу өнері | Изобразительное искусство | Fine art
>>>
<<<
14–15 жас | 14–15 лет | 14–15 years
16–17 жас | 16–17 лет | 16–17 years
>>>
Әрі қарай
фото
құжат
мәтін
Әрі қарай
2
# The cover is a picture from disk, sent with /send.
/send {samples}/cover.png
Жариялау
# Аружан sees the announcement waiting for her, joins and sends a drawing (a photo from disk).
/as 3001
Ашу
Қосылу
Жұмысты жіберу
Бейнелеу өнері
16–17 жас
/send {samples}/drawing.jpg Менің ауылым
Түсініктемесіз жіберу
# Нұрсұлтан sends a poem: several lines, one message.
/as 3002
Ашу
Қосылу
Жұмысты жіберу
Әдебиет
16–17 жас
<<<
Туған жер — алтын бесігім,
Сайрамның самал желі — әнім.
Мектебім — менің екінші үйім.
>>>
Түсініктемесіз жіберу
# Сәуле, now the district coordinator, reviews the entries of her district.
/as 4001
/review
Мақұлдау
Мақұлдау
# Әсел sets up the jury: two criteria typed at once, one score per entry, herself as juror
# (named by a part of her name: an @username or a Telegram id would do as well).
/as 900
/jury 1
Критерийлер
<<<
Идея | Идея | Idea
Орындалуы | Исполнение | Execution
>>>
Кворум
1
Қазы қосу
Нұрланова
Бағалауды бастау
# On the score keyboard a typed score presses the button with that label: 9 is a 9.
9
8
10
9
# Two days later: /clock moves the bot's time past the deadline; the contest closes by itself.
/clock {after_deadline}
/jury 1
Кезеңді жабу
Иә, кезеңді жабу
Рейтинг
Рейтинг бойынша орын беру
Дипломсыз
Орын беру
Қорытындыны жариялау
Иә
/certificates challenge 1
# Nobody signs this kind of certificate yet: the bot asks who does, one per line.
<<<
Орталық директоры | А. Сейітов
>>>
✅ 2 сертификат беру
# Each winner got her or his certificate as a PDF (saved in the files folder).
/as 3001
#
# ═══ 3. Вебинар · A webinar ═══
# Әсел plans a webinar in two days' time and announces it to the members.
/as 900
/newwebinar
Медиасауаттылық
Медиаграмотность
Media literacy
Жалған ақпаратты қалай тануға болады: практикалық сабақ.
Как распознать фейки: практическое занятие.
How to recognise fake news: a practical session.
{webinar}
90
https://meet.google.com/abc-defg-hij
<<<
Ермек Тоқтаров
Айжан Бекова
>>>
Парламент мүшесі
Дайын
100
24h, 1h, 10m, 0
Жариялау және хабарлау
# Both members register from the announcement waiting for them.
/as 3001
Тіркелу
/as 3002
Тіркелу
# Time runs to five minutes after the start: the reminders come at their own times,
# 24 h, 1 h, 10 min and 0 before (and if a Monday 09:00 is passed on the way, the weekly
# digest reaches Әсел).
/clock {webinar_started}
# Аружан and Нұрсұлтан join the call and press “I'm here” in a reminder waiting for them.
/as 3001
Қатысып отырмын
/as 3002
Қатысып отырмын
# After the webinar Әсел sends attendance certificates.
/as 900
/certificates webinar 1
# Nobody signs this kind of certificate yet: the bot asks who does, one per line.
<<<
Орталық директоры | А. Сейітов
>>>
✅ 2 сертификат беру
#
# ═══ 4. Хабарландыру · A broadcast ═══
# Сәуле writes to everyone in her district and asks them to confirm they have read it.
/as 4001
/broadcast
<<<
Құрметті парламентшілер!
Сенбі күні 10:00-де аудандық парламент сессиясы өтеді.
Күн тәртібі: көктемгі акциялар жоспары.
>>>
Барлығы
Таныстым
Қазір жіберу
# The members confirm with the button waiting for them.
/as 3001
Таныстым
/as 3002
Таныстым
# Сәуле sees who has confirmed.
/as 4001
/broadcasts
📊 #1
/quit
"""


def tour_script(samples: Path | str, now: datetime, tz: Any) -> str:
    """The tour with its files and dates filled in: the deadline in two days at 18:00, the
    webinar in four days at 11:00 (its 24-hour reminder after the deadline)."""
    today = now.astimezone(tz).date()
    deadline = datetime.combine(today + timedelta(days=2), time(18, 0), tz)
    webinar = datetime.combine(today + timedelta(days=4), time(11, 0), tz)
    typed, jump = "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M"
    return TOUR.format(
        samples=samples, deadline=deadline.strftime(typed), webinar=webinar.strftime(typed),
        after_deadline=(deadline + timedelta(minutes=5)).strftime(jump),
        webinar_started=(webinar + timedelta(minutes=5)).strftime(jump))


def make_samples(folder: Path) -> Path:
    """A contest cover and a pupil's drawing, drawn here so the tour needs no files."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    cover = Image.new("RGB", (640, 360), (20, 60, 120))
    ImageDraw.Draw(cover).ellipse((220, 80, 420, 280), fill=(240, 190, 40))
    cover.save(folder / "cover.png")
    drawing = Image.new("RGB", (800, 600), (250, 250, 240))
    pen = ImageDraw.Draw(drawing)
    pen.rectangle((100, 300, 700, 560), fill=(60, 140, 60))
    pen.polygon([(150, 300), (400, 80), (650, 300)], fill=(200, 80, 40))
    drawing.save(folder / "drawing.jpg")
    return folder
