"""The annual report draft (/report YEAR): data (what it counts beyond bot.services.stats),
chart (its picture), document (the A4 DOCX)."""

from __future__ import annotations

from bot.services.annual.document import annual_docx

__all__ = ["annual_docx"]
