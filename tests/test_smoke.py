async def test_start_asks_language(h):
    u = h.user(1)
    await u.send("/start")
    assert "Choose your language" in u.last_text()
    assert u.buttons() == ["Қазақша", "Русский", "English"]
