"""The one module that knows pywa: the WhatsApp Cloud API calls the bot makes.

Everything else in bot/channels/whatsapp speaks plain values (addresses, titles, callback
data, bytes) and `WaApiError`; if pywa stalls, only this file changes (review C.2: its bus
factor is about one). We use pywa's client for sending and media and its signature check;
not its handler framework: the conversation stays in aiogram's Dispatcher.

WHATSAPP_API_BASE_URL (a fake, or an egress proxy) is honoured by a small httpx transport
that moves requests meant for graph.facebook.com there: pywa fixes its base URL in
`GraphAPI.__init__`, and media download URLs come back absolute, so rewriting at the
transport is the one place that catches both.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

import httpx
from pywa.errors import WhatsAppError
from pywa_async import WhatsApp
from pywa_async.types import Button, Section, SectionList, SectionRow, URLButton
from pywa_async.types.templates import TemplateLanguage

GRAPH_HOST = "graph.facebook.com"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# 131xxx codes Meta documents as "try again later" (throughput, pair rate, service)
TRANSIENT_CODES = {1, 2, 4, 80007, 130429, 131000, 131016, 131056}
DEFAULT_MIME = {"photo": "image/jpeg", "video": "video/mp4", "animation": "video/mp4",
                "document": "application/octet-stream", "audio": "audio/mpeg",
                "voice": "audio/ogg", "sticker": "image/webp"}


class WaApiError(Exception):
    """A call the Cloud API refused (`code`: Meta's error code) or could not be reached for
    (`code` 0, `status` 0)."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(f"({code}) {message}")
        self.code, self.message, self.status = code, message, status

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.code in TRANSIENT_CODES


@dataclass(frozen=True)
class Choice:
    """One reply button or list row: what the person sees, what comes back when chosen."""

    title: str
    data: str
    description: str | None = None


class _Rebased(httpx.AsyncBaseTransport):
    """Sends what was meant for graph.facebook.com to `base` instead (scheme, host, port and
    a path prefix); every other URL goes where it says."""

    def __init__(self, base: str, inner: httpx.AsyncBaseTransport) -> None:
        self.base, self.inner = httpx.URL(base.rstrip("/")), inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == GRAPH_HOST:
            request.url = request.url.copy_with(
                scheme=self.base.scheme, host=self.base.host, port=self.base.port,
                path=self.base.path.rstrip("/") + request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class WaClient:
    """Sends from one business phone number; checks webhooks with the app's secret."""

    def __init__(self, token: str, phone_id: str, *, app_secret: str | None = None,
                 verify_token: str | None = None, base_url: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 business_account_id: str | None = None) -> None:
        self._token, self.business_account_id = token, business_account_id
        inner = transport or httpx.AsyncHTTPTransport(retries=0)
        if base_url:
            inner = _Rebased(base_url, inner)
        self._http = httpx.AsyncClient(transport=inner, timeout=TIMEOUT)
        self._wa = WhatsApp(phone_id=phone_id, token=token, session=self._http,
                            app_secret=app_secret, verify_token=verify_token,
                            validate_updates=app_secret is not None,
                            skip_duplicate_updates=False)

    async def close(self) -> None:
        await self._http.aclose()

    # --- webhooks ----------------------------------------------------------------------
    async def signature_ok(self, body: bytes, header: str | None) -> bool:
        """X-Hub-Signature-256 is the HMAC-SHA256 of the raw body with the app secret."""
        if not header:
            return False
        return await self._wa.webhook_update_validator(body, header) is None

    async def challenge(self, verify_token: str | None, challenge: str | None) -> str | None:
        """Meta's GET verification: the challenge back if the token is ours, else None."""
        answer, status = await self._wa.webhook_challenge_handler(verify_token, challenge)
        return answer if status == 200 else None

    # --- sending: each returns the message's wamid ----------------------------------------
    async def send_text(self, to: str, text: str) -> str:
        return await self._call(self._wa.send_message(to, text))

    async def send_buttons(self, to: str, body: str, choices: list[Choice]) -> str:
        buttons = [Button(title=c.title, callback_data=c.data) for c in choices]
        return await self._call(self._wa.send_message(to, body, buttons=buttons))

    async def send_list(self, to: str, body: str, button: str, choices: list[Choice]) -> str:
        rows = [SectionRow(title=c.title, callback_data=c.data, description=c.description)
                for c in choices]
        # one section: Meta needs its title only with several, pywa always sends one
        section = Section(title=button[:24], rows=rows)
        section_list = SectionList(button_title=button, sections=[section])
        return await self._call(self._wa.send_message(to, body, buttons=section_list))

    async def send_link(self, to: str, body: str, title: str, url: str) -> str:
        return await self._call(self._wa.send_message(
            to, body, buttons=URLButton(title=title, url=url)))

    async def send_media(self, to: str, kind: str, media: str | bytes, *,
                         caption: str | None = None, filename: str | None = None,
                         mime: str | None = None) -> str:
        """`media`: a WhatsApp media id, or bytes to upload first."""
        if isinstance(media, bytes):
            mime = mime or (mimetypes.guess_type(filename)[0] if filename else None) \
                or DEFAULT_MIME.get(kind, "application/octet-stream")
        extra = {"mime_type": mime} if isinstance(media, bytes) else {}
        wa = self._wa
        if kind == "photo":
            sent = wa.send_image(to, media, caption=caption, **extra)
        elif kind in ("video", "animation", "video_note"):
            sent = wa.send_video(to, media, caption=caption, **extra)
        elif kind in ("audio", "voice"):
            sent = wa.send_audio(to, media, **extra)
        elif kind == "sticker":
            sent = wa.send_sticker(to, media, **extra)
        else:
            sent = wa.send_document(to, media, filename=filename or "document",
                                    caption=caption, **extra)
        return await self._call(sent)

    async def send_template(self, to: str, name: str, language: str,
                            components: list[dict[str, object]]) -> str:
        """An approved template (the only thing that may go out after 24 hours of silence);
        `components`: the Cloud API's own (bot.notices.templates.components)."""
        return await self._call(self._wa.send_template(
            to, name, TemplateLanguage(language), params=components))

    async def upload(self, data: bytes, filename: str, mime: str) -> str:
        """Upload a file (e.g. a template's header document): its media id."""
        try:
            media = await self._wa.upload_media(data, mime_type=mime, filename=filename)
            return str(media.id)
        except WhatsAppError as exc:
            raise _api_error(exc) from exc
        except httpx.HTTPError as exc:
            raise WaApiError(0, f"network: {type(exc).__name__}", 0) from exc

    async def templates(self) -> list[dict[str, object]]:
        """The account's message templates (name, language, status, category, components as
        Meta lists them). Plain httpx: pywa's get_templates parses every component of every
        template into typed objects, and we compare them as plain dicts."""
        if not self.business_account_id:
            raise WaApiError(100, "WHATSAPP_BUSINESS_ACCOUNT_ID is not set")
        found: list[dict[str, object]] = []
        url: str | None = f"{self._http.base_url}/{self.business_account_id}/message_templates"
        params: dict[str, str] | None = {"fields": "name,language,status,category,components",
                                          "limit": "200"}
        try:
            while url:
                answer = await self._http.get(url, params=params, headers={
                    "Authorization": f"Bearer {self._token}"})
                body = answer.json()
                if answer.status_code >= 400:
                    error = body.get("error") or {}
                    raise WaApiError(int(error.get("code") or 0), str(error.get("message")),
                                     answer.status_code)
                found += body.get("data") or []
                url, params = (body.get("paging") or {}).get("next"), None
        except httpx.HTTPError as exc:
            raise WaApiError(0, f"network: {type(exc).__name__}", 0) from exc
        return found

    async def media_bytes(self, media_id: str) -> bytes:
        """What a person sent (their media ids expire after 7 days: fetch early)."""
        try:
            url = await self._wa.get_media_url(media_id)
            return await self._wa.get_media_bytes(url.url)
        except WhatsAppError as exc:
            raise _api_error(exc) from exc
        except httpx.HTTPStatusError as exc:
            raise WaApiError(exc.response.status_code, "media download failed",
                             exc.response.status_code) from exc
        except httpx.HTTPError as exc:
            raise WaApiError(0, f"network: {type(exc).__name__}", 0) from exc

    async def _call(self, sending: object) -> str:
        try:
            sent = await sending  # type: ignore[misc]
        except WhatsAppError as exc:
            raise _api_error(exc) from exc
        except httpx.HTTPError as exc:
            raise WaApiError(0, f"network: {type(exc).__name__}", 0) from exc
        return str(sent.id)


def _api_error(exc: WhatsAppError) -> WaApiError:
    response = getattr(exc, "raw_response", None)
    status = getattr(response, "status_code", None) or 400
    return WaApiError(int(exc.code), str(exc.message), status)
