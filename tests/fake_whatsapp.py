"""A fake WhatsApp Cloud API: in-process (an httpx transport) or on 127.0.0.1 (aiohttp).

It answers what the bot calls, records every message sent (`sent`), keeps uploaded media
and serves it back, and refuses what Meta refuses, with Meta's error body
(`{"error": {"message", "type", "code", "error_data", "fbtrace_id"}}`):
- interactive limits: at most 3 reply buttons (title ≤ 20), a list of at most 10 rows
  (title ≤ 24, description ≤ 72, button ≤ 20), body ≤ 1,024, text ≤ 4,096 → 131009;
- a wrong token → 190 (401);
- the 24-hour window: a free-form message to someone in `window_closed` → 131047;
- a person who cannot be reached (not on WhatsApp, or blocked the business): any message to
  someone in `undeliverable` → 131026;
- templates: one not approved in that language → 132001; listed with components, a send
  whose header or buttons do not match them → 132012 / 132000;
- injected faults (`fail_next`, `fail_next_download`): any code and HTTP status, e.g.
  130429, 131026, 500; media that expired (`expire`).
It also builds what Meta posts to the bot: webhook bodies for a text, a button or list
reply, an image or document, signed with the app secret (`signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

TOKEN = "fake-wa-token"
PHONE_ID = "100200300"
APP_SECRET = "fake-app-secret"
VERIFY_TOKEN = "fake-verify-token"
INVALID = 131009

ERROR_TITLES = {
    190: "Invalid OAuth access token", 131009: "Parameter value is not valid",
    131047: "Re-engagement message", 131026: "Message undeliverable",
    130429: "Rate limit hit", 131056: "(Business Account, Consumer Account) pair rate limit hit",
    131000: "Something went wrong", 100: "Invalid parameter",
    132001: "Template name does not exist in the translation",
    132000: "Number of parameters does not match the expected number of params",
    132012: "Parameter format does not match format in the created template",
}


def error_body(code: int, details: str = "") -> dict[str, Any]:
    return {"error": {"message": f"(#{code}) {ERROR_TITLES.get(code, 'Error')}",
                      "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp",
                                     "details": details or ERROR_TITLES.get(code, "")},
                      "fbtrace_id": "AfakeTrace"}}


class Refusal(Exception):
    def __init__(self, code: int, details: str, status: int = 400) -> None:
        super().__init__(details)
        self.code, self.details, self.status = code, details, status


@dataclass
class Sent:
    """One message the bot sent, as the person sees it."""

    to: str
    type: str  # text | buttons | list | cta_url | image | document | video | audio | …
    wamid: str
    body: str = ""
    titles: list[str] = field(default_factory=list)  # buttons or rows, in order
    ids: list[str] = field(default_factory=list)  # their callback data
    descriptions: list[str | None] = field(default_factory=list)
    media_id: str | None = None
    caption: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    template: str | None = None  # a template's name (type "template"), its language below
    language: str | None = None
    at: float = 0.0  # when it was accepted (FakeCloudApi.clock)


class FakeCloudApi:
    def __init__(self, token: str = TOKEN, phone_id: str = PHONE_ID,
                 base_url: str = "https://graph.facebook.com") -> None:
        self.token, self.phone_id, self.base_url = token, phone_id, base_url
        self.sent: list[Sent] = []
        self.refused: list[tuple[dict[str, Any], int]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.window_closed: set[str] = set()
        self.undeliverable: set[str] = set()
        # the account's templates ({"name", "language", "status"}), served at
        # GET /<version>/<business account>/message_templates; None: any template is sent
        self.templates: list[dict[str, Any]] | None = None
        self.clock: Callable[[], float] = time.monotonic  # stamps Sent.at (pacing checks)
        self._faults: list[tuple[int, int]] = []
        self._media_faults: list[tuple[int, int]] = []
        self._ids = itertools.count(1)
        self.requests = 0

    # --- for tests ----------------------------------------------------------------------
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail_next(self, code: int, status: int = 400, times: int = 1) -> None:
        self._faults += [(code, status)] * times

    def fail_next_download(self, code: int, status: int = 500) -> None:
        """The next media lookup (the first step of a download) is refused."""
        self._media_faults.append((code, status))

    def add_media(self, data: bytes, mime: str = "image/jpeg") -> str:
        """Media a person sent (their phone uploaded it): its id, as a webhook names it."""
        media_id = str(900000 + next(self._ids))
        self.media[media_id] = (data, mime)
        return media_id

    def expire(self, media_id: str) -> None:
        """The media id is no longer valid (Meta keeps a person's media for a limited time)."""
        self.media.pop(media_id, None)

    def to(self, address: str) -> list[Sent]:
        return [s for s in self.sent if s.to == address]

    # --- the API ------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json=error_body(190))
        parts = [p for p in request.url.path.split("/") if p]
        try:
            if request.method == "POST" and parts[-1] == "messages":
                return httpx.Response(200, json=self._message(json.loads(request.content)))
            if request.method == "POST" and parts[-1] == "media":
                return httpx.Response(200, json={"id": self._upload(request)})
            if request.method == "GET" and parts[-1] == "message_templates":
                return httpx.Response(200, json={"data": self._listed(request)})
            if request.method == "GET" and parts[0] == "media":
                return self._download(parts[-1])
            if request.method == "GET" and len(parts) == 2:
                return self._media_url(parts[-1])
        except Refusal as exc:
            return httpx.Response(exc.status, json=error_body(exc.code, exc.details))
        return httpx.Response(404, json=error_body(100, f"no route {request.url.path}"))

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        to = body.get("to") or body.get("recipient") or ""
        if self._faults:
            code, status = self._faults.pop(0)
            self.refused.append((body, code))
            raise Refusal(code, ERROR_TITLES.get(code, ""), status)
        if to in self.undeliverable:
            self.refused.append((body, 131026))
            raise Refusal(131026, "Message undeliverable")
        if to in self.window_closed and body.get("type") != "template":
            self.refused.append((body, 131047))
            raise Refusal(131047, "Message failed to send because more than 24 hours have "
                                  "passed since the customer last replied to this number.")
        try:
            sent = self._parsed(to, body)
        except Refusal as exc:
            self.refused.append((body, exc.code))
            raise
        sent.at = self.clock()
        self.sent.append(sent)
        return {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": sent.wamid}]}

    def _parsed(self, to: str, body: dict[str, Any]) -> Sent:
        kind = body.get("type")
        wamid = f"wamid.FAKE{next(self._ids)}"
        if kind == "text":
            text = body["text"]["body"]
            _check(0 < len(text) <= 4096, "text body: 1 to 4096 characters")
            return Sent(to, "text", wamid, body=text, raw=body)
        if kind == "interactive":
            return self._interactive(to, wamid, body)
        if kind == "template":
            return self._template(to, wamid, body)
        media = body.get(kind or "") or {}
        media_id = media.get("id")
        _check(media_id in self.media, f"unknown media id {media_id}")
        _check(len(media.get("caption") or "") <= 1024, "caption: at most 1024 characters")
        return Sent(to, str(kind), wamid, media_id=media_id, caption=media.get("caption"),
                    raw=body)

    def _interactive(self, to: str, wamid: str, body: dict[str, Any]) -> Sent:
        interactive = body["interactive"]
        text = interactive["body"]["text"]
        _check(0 < len(text) <= 1024, "interactive body: 1 to 1024 characters")
        action = interactive["action"]
        if interactive["type"] == "button":
            buttons = [b["reply"] for b in action["buttons"]]
            _check(1 <= len(buttons) <= 3, "buttons: 1 to 3")
            _check(all(0 < len(b["title"]) <= 20 for b in buttons), "button title: 1 to 20")
            _check(all(0 < len(b["id"]) <= 256 for b in buttons), "button id: 1 to 256")
            _check(len({b["title"] for b in buttons}) == len(buttons), "button titles: unique")
            return Sent(to, "buttons", wamid, body=text, titles=[b["title"] for b in buttons],
                        ids=[b["id"] for b in buttons], raw=body)
        if interactive["type"] == "list":
            rows = [r for s in action["sections"] for r in s["rows"]]
            _check(0 < len(action["button"]) <= 20, "list button: 1 to 20")
            _check(1 <= len(rows) <= 10, "rows: 1 to 10 in all")
            _check(all(0 < len(r["title"]) <= 24 for r in rows), "row title: 1 to 24")
            _check(all(len(r.get("description") or "") <= 72 for r in rows),
                   "row description: at most 72")
            _check(all(0 < len(r["id"]) <= 200 for r in rows), "row id: 1 to 200")
            return Sent(to, "list", wamid, body=text, titles=[r["title"] for r in rows],
                        ids=[r["id"] for r in rows],
                        descriptions=[r.get("description") for r in rows], raw=body)
        if interactive["type"] == "cta_url":
            params = action["parameters"]
            _check(0 < len(params["display_text"]) <= 20, "cta display_text: 1 to 20")
            return Sent(to, "cta_url", wamid, body=text, titles=[params["display_text"]],
                        ids=[params["url"]], raw=body)
        raise Refusal(INVALID, f"interactive type {interactive['type']!r} not supported here")

    def _template(self, to: str, wamid: str, body: dict[str, Any]) -> Sent:
        """A template: it must be approved in that language (if `templates` is set), and its
        header and buttons must be those it was approved with (if listed with components).
        What the person reads is its body parameter's text, the header's media (image or
        document) and its quick-reply buttons (titles as approved; ids: their payloads)."""
        template = body["template"]
        name, language = template["name"], template["language"]["code"]
        approved = self._approved(name, language)
        text, media_id, header, payloads = "", None, None, []
        for part in template.get("components") or []:
            for param in part.get("parameters") or []:
                kind = param.get("type")
                if kind == "text":
                    text = param["text"]
                    _check("\n" not in text and "\t" not in text and "    " not in text,
                           "template parameter: no new lines, tabs or 4 spaces")
                elif kind in ("document", "image"):
                    header, media_id = kind.upper(), param[kind].get("id")
                    _check(media_id in self.media, f"unknown media id {media_id}")
                elif kind == "payload":
                    payloads.append(param["payload"])
        titles = [f"button {n}" for n in range(len(payloads))]
        if approved is not None:
            parts = {c["type"]: c for c in approved}
            if (parts.get("HEADER") or {}).get("format") != header:
                raise Refusal(132012, "Parameter format does not match format in the "
                                      "created template")
            titles = [b["text"] for b in (parts.get("BUTTONS") or {}).get("buttons") or []]
            if len(titles) != len(payloads):
                raise Refusal(132000, "Number of parameters does not match the expected "
                                      "number of params")
        return Sent(to, "template", wamid, body=text, media_id=media_id, raw=body,
                    template=name, language=language, titles=titles, ids=payloads)

    def _approved(self, name: str, language: str) -> list[dict[str, Any]] | None:
        """The approved template's components (None: not listed with them)."""
        if self.templates is None:
            return None
        for t in self.templates:
            if t["name"] == name and t["language"] == language and t["status"] == "APPROVED":
                return t.get("components")
        raise Refusal(132001, f"template {name} ({language}) does not exist")

    def _listed(self, request: httpx.Request) -> list[dict[str, Any]]:
        """The account's templates with the fields asked for (Meta's default: a few)."""
        fields = (request.url.params.get("fields") or "name,language,status,id").split(",")
        return [{k: v for k, v in t.items() if k in fields} for t in self.templates or []]

    def _upload(self, request: httpx.Request) -> str:
        content_type = request.headers.get("content-type", "")
        boundary = content_type.split("boundary=")[-1].encode()
        data, mime = b"", "application/octet-stream"
        for part in request.content.split(b"--" + boundary):
            head, _, payload = part.partition(b"\r\n\r\n")
            if b'name="file"' in head:
                data = payload.removesuffix(b"\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-type:"):
                        mime = line.split(b":", 1)[1].strip().decode()
        _check(bool(data), "file: required")
        media_id = str(500000 + next(self._ids))
        self.media[media_id] = (data, mime)
        return media_id

    def _media_url(self, media_id: str) -> httpx.Response:
        if self._media_faults:
            code, status = self._media_faults.pop(0)
            raise Refusal(code, ERROR_TITLES.get(code, ""), status)
        if media_id not in self.media:
            raise Refusal(100, f"media {media_id} does not exist or has expired", 404)
        data, mime = self.media[media_id]
        return httpx.Response(200, json={
            "messaging_product": "whatsapp", "id": media_id, "mime_type": mime,
            "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data),
            "url": f"{self.base_url}/media/{media_id}"})

    def _download(self, media_id: str) -> httpx.Response:
        if media_id not in self.media:
            return httpx.Response(404, json=error_body(100, "expired"))
        data, mime = self.media[media_id]
        return httpx.Response(200, content=data, headers={"content-type": mime})


def _check(ok: bool, details: str) -> None:
    if not ok:
        raise Refusal(INVALID, details)


# --- what Meta posts to the bot ------------------------------------------------------------
_wamids = itertools.count(1)


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(address: str, message: dict[str, Any], name: str = "Aida",
            wa_id: str | None = None, wamid: str | None = None) -> dict[str, Any]:
    """A webhook body with one message from `address` (a BSUID; `wa_id`: the phone)."""
    contact: dict[str, Any] = {"profile": {"name": name}, "user_id": address}
    if wa_id:
        contact["wa_id"] = wa_id
    sent = {"from_user_id": address, "id": wamid or f"wamid.IN{next(_wamids)}",
            "timestamp": str(int(time.time())), **message}
    if wa_id:
        sent["from"] = wa_id
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "77000000000", "phone_number_id": PHONE_ID},
            "contacts": [contact], "messages": [sent]}}]}]}


def text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body}}


def button_reply(data: str, title: str) -> dict[str, Any]:
    return {"type": "interactive", "interactive": {
        "type": "button_reply", "button_reply": {"id": data, "title": title}}}


def template_button(payload: str, title: str, context: str | None = None) -> dict[str, Any]:
    """A template's quick-reply button pressed: Meta sends its payload and text."""
    pressed: dict[str, Any] = {"type": "button", "button": {"payload": payload, "text": title}}
    if context:
        pressed["context"] = {"from": "77000000000", "id": context}
    return pressed


def list_reply(data: str, title: str) -> dict[str, Any]:
    return {"type": "interactive", "interactive": {
        "type": "list_reply", "list_reply": {"id": data, "title": title}}}


def media(kind: str, media_id: str, mime: str, caption: str | None = None,
          filename: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": media_id, "mime_type": mime, "sha256": "x"}
    if caption:
        item["caption"] = caption
    if filename:
        item["filename"] = filename
    return {"type": kind, kind: item}


# --- the same API on 127.0.0.1, for end-to-end runs ---------------------------------------------
async def serve(api: FakeCloudApi, host: str = "127.0.0.1", port: int = 0) -> web.AppRunner:
    """Serve `api` over HTTP; its `base_url` becomes the server's address (media URLs)."""
    async def any_request(request: web.Request) -> web.Response:
        forwarded = httpx.Request(request.method, str(request.url),
                                  headers=dict(request.headers), content=await request.read())
        answer = api.handle(forwarded)
        return web.Response(status=answer.status_code, body=answer.content,
                            content_type=answer.headers.get("content-type",
                                                            "application/json").split(";")[0])

    app = web.Application(client_max_size=100 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", any_request)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    api.base_url = f"http://{host}:{bound}"
    return runner
