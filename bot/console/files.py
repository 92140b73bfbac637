"""Files both ways: what the bot sends is written to a folder; `/send PATH` hands the bot a
photo, video or document from disk as if the person had sent it in Telegram."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any

from bot.local_api import ApiCall, LocalSession

MEDIA = ("photo", "video", "document", "animation", "audio", "voice", "sticker", "video_note")
KIND_OF = {".jpg": "photo", ".jpeg": "photo", ".png": "photo", ".webp": "photo",
           ".mp4": "video", ".mov": "video", ".webm": "video", ".m4v": "video"}
MAGIC = {b"\x89PNG": ".png", b"\xff\xd8": ".jpg", b"%PDF": ".pdf", b"BEGIN:VCALENDAR": ".ics"}
UNSAFE = re.compile(r"[^\w.\-]+")


class FileSaver:
    """Writes each file the bot sends to `folder`, numbered in the order sent."""

    def __init__(self, folder: Path, api: LocalSession) -> None:
        self.folder, self.api, self.count = folder, api, 0

    def save(self, call: ApiCall) -> list[Path]:
        saved = []
        for kind, content, name in self._files_of(call):
            self.count += 1
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{self.count:03d}-to{call.chat_id}-{_safe(name, kind, content)}"
            path.write_bytes(content)
            saved.append(path)
        return saved

    def _files_of(self, call: ApiCall) -> list[tuple[str, bytes, str]]:
        found = []
        for kind in MEDIA:
            value = call.params.get(kind)
            if kind in call.files:
                found.append((kind, call.files[kind], call.file_names.get(kind, "")))
            elif isinstance(value, str) and value in self.api.files:  # a file sent to the bot
                found.append((kind, self.api.files[value], ""))
        for item in call.params.get("media") or []:  # an album of files sent to the bot
            file_id = item.get("media") if isinstance(item, dict) else None
            if isinstance(file_id, str) and file_id in self.api.files:
                found.append((item.get("type", "file"), self.api.files[file_id], ""))
        return found


def _safe(name: str, kind: str, content: bytes) -> str:
    name = UNSAFE.sub("_", Path(name).name).strip("._") if name else ""
    if not name:
        ext = next((e for magic, e in MAGIC.items() if content.startswith(magic)), "")
        name = f"{kind}{ext}"
    return name


def incoming(path: Path, file_id: str, caption: str) -> dict[str, Any]:
    """The content of a message carrying the file at `path`, as Telegram describes it."""
    size = path.stat().st_size
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    base = {"file_id": file_id, "file_unique_id": file_id[-16:], "file_size": size}
    kind = KIND_OF.get(path.suffix.lower(), "document")
    if kind == "photo":
        content: dict[str, Any] = {"photo": [{**base, "width": 1280, "height": 960}]}
    elif kind == "video":
        content = {"video": {**base, "width": 1280, "height": 720, "duration": 30,
                             "file_name": path.name, "mime_type": mime}}
    else:
        content = {"document": {**base, "file_name": path.name, "mime_type": mime}}
    if caption:
        content["caption"] = caption
    return content


def split_send(arg: str) -> tuple[str, str]:
    """`/send` arguments: a path (in quotes if it has spaces) and an optional caption."""
    arg = arg.strip()
    if arg[:1] in ('"', "'") and arg[0] in arg[1:]:
        end = arg.index(arg[0], 1)
        return arg[1:end], arg[end + 1:].strip()
    path, _, caption = arg.partition(" ")
    return path, caption.strip()
