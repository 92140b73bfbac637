"""The language review's fixes made in code, not catalogs (shared/reviews/language-2026-12.md)."""

from __future__ import annotations


async def test_the_greeting_names_the_movement_in_all_three_languages(h):
    """Finding 17: before a language is chosen every line is in kk, ru and en, and the
    movement's Kazakh name has its head noun (Мектеп Парламенті, not «Мектеп және …»)."""
    u = h.user(555)
    await u.send("/start")
    greeting = next(t for t in u.texts() if t.startswith("Сәлеметсіз бе!"))
    first, second = greeting.splitlines()
    assert first == "Сәлеметсіз бе! · Здравствуйте! · Hello!"
    assert second.split(" · ") == ["Мектеп Парламенті мен Студенттік Парламент боты",
                                   "Бот школьного и студенческого парламента",
                                   "School and Student Parliament bot"]
