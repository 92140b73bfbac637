"""Template settings: the background picture and the signatories of each template.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.activity import log_activity
from bot.services.certificates.base import BACKGROUND_MAX, TEMPLATES
from bot.services.errors import DomainError
from db.models import (
    CertificateTemplate,
)

# --- template settings ---------------------------------------------------------------

@dataclass
class TemplateSettings:
    template: str
    background: bytes | None = None
    signatories: dict[str, list[dict[str, str]]] = field(default_factory=dict)


async def get_settings(session: AsyncSession, template: str) -> TemplateSettings:
    row = await session.get(CertificateTemplate, template)
    if row is None:
        return TemplateSettings(template)
    return TemplateSettings(template, row.background, dict(row.signatories or {}))


async def _settings_row(session: AsyncSession, template: str, actor: Any) -> CertificateTemplate:
    if template not in TEMPLATES:
        raise DomainError("not_found")
    row = await session.get(CertificateTemplate, template)
    if row is None:
        row = CertificateTemplate(template=template, signatories={})
        session.add(row)
    row.updated_by = getattr(actor, "id", None)
    return row


def normalize_background(data: bytes) -> bytes:
    """Any picture → an RGB JPEG no larger than A4 at 150 dpi (keeps every PDF small).

    A big upload costs little more than its decoded picture, for a moment: a JPEG is
    decoded at a reduced size already, and the scaling goes a band of rows at a time.
    """
    from PIL import Image, UnidentifiedImageError

    out = io.BytesIO()
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width < 300 or img.height < 200:
                raise DomainError("cert_bad_image")
            img.draft("RGB", BACKGROUND_MAX)
            if img.mode in ("RGB", "L", "CMYK"):  # no palette, no transparency: scale first
                picture = _shrink(img, BACKGROUND_MAX)
                picture = picture if picture.mode == "RGB" else picture.convert("RGB")
            else:
                picture = _shrink(img.convert("RGB"), BACKGROUND_MAX)
            picture.save(out, "JPEG", quality=80, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DomainError("cert_bad_image") from exc
    return out.getvalue()


def _shrink(img: Any, limit: tuple[int, int], band: int = 128) -> Any:
    """`img` scaled down to fit `limit` (bicubic, like `thumbnail`), `band` rows at a time,
    so the full-size intermediate picture of a one-go resize is never made. Neighbouring
    bands read the same source rows around their edge: the result is seamless."""
    from PIL import Image

    width, height = img.size
    scale = min(limit[0] / width, limit[1] / height)
    if scale >= 1:
        return img
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    step = height / size[1]
    out = Image.new(img.mode, size)
    for top in range(0, size[1], band):
        bottom = min(top + band, size[1])
        out.paste(img.resize((size[0], bottom - top), Image.Resampling.BICUBIC,
                             box=(0, top * step, width, bottom * step)), (0, top))
    return out


async def set_background(session: AsyncSession, template: str, data: bytes | None,
                         actor: Any) -> None:
    """Store a new background (None restores the built-in frame)."""
    image = normalize_background(data) if data is not None else None
    row = await _settings_row(session, template, actor)
    row.background = image
    await log_activity(session, "certificate_template_changed", actor, "certificate_template",
                       None, {"template": template, "background": image is not None})


def parse_signatories(text: str) -> dict[str, list[dict[str, str]]]:
    """Lines `Title | Name` (up to 3); `[kk]`, `[ru]`, `[en]` start a language's own list,
    lines before any header go to every language."""
    result: dict[str, list[dict[str, str]]] = {}
    current = "*"
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        header = re.fullmatch(r"\[(kk|ru|en)\]", line.lower())
        if header:
            current = header.group(1)
            result.setdefault(current, [])
            continue
        if line.count("|") != 1:
            raise DomainError("cert_signatories_format")
        title, name = (" ".join(p.split()) for p in line.split("|"))
        if not title or len(title) > 120 or len(name) > 80:
            raise DomainError("cert_signatories_format")
        result.setdefault(current, []).append({"title": title, "name": name})
    if not any(result.values()) or any(len(v) > 3 for v in result.values()):
        raise DomainError("cert_signatories_format")
    return result


async def set_signatories(session: AsyncSession, template: str, text: str,
                          actor: Any) -> dict[str, list[dict[str, str]]]:
    parsed = parse_signatories(text)
    row = await _settings_row(session, template, actor)
    row.signatories = parsed
    await log_activity(session, "certificate_template_changed", actor, "certificate_template",
                       None, {"template": template, "signatories": True})
    return parsed


def signatories_text(settings: TemplateSettings) -> str:
    lines = []
    for key, people in settings.signatories.items():
        if key != "*":
            lines.append(f"[{key}]")
        lines.extend(f"{p['title']} | {p['name']}" for p in people)
    return "\n".join(lines)


async def unsigned_templates(session: AsyncSession, templates: Iterable[str]) -> list[str]:
    """Of `templates`, those without any signatory set: printed, they would carry a bare
    "Director" and no name, so a bulk issue asks for the signatories first."""
    return [t for t in TEMPLATES if t in set(templates)
            if not any((await get_settings(session, t)).signatories.values())]
