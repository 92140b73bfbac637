"""What every part of the certificates package shares: templates, places, the
delivery source name.
"""

from __future__ import annotations

TEMPLATES = ("winner", "participant", "webinar", "series")
NUMBER_LETTER = {"winner": "D", "participant": "P", "webinar": "W", "series": "S"}
CHECK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LOCALES = ("kk", "ru", "en")
PLACES = ("grand_prix", "1", "2", "3", "diploma")
SOURCE_TYPE = "certificate"  # delivery queue source
REVOKED = "the certificate was revoked"  # the error of a delivery cancelled by revoking
BACKGROUND_MAX = (1754, 1240)  # A4 landscape at 150 dpi: sharp enough, ~150 KB


