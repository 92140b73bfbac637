"""Certificates: who is eligible, the registry (numbers, revoking, export), template settings,
the printed texts per language, and handing the PDFs to the delivery queue.

The PDF is never stored: the queued message holds the printed texts (translated when it is
queued; about 2 KB, nothing personal) and the delivery worker renders the PDF from them and
the registry row as it sends it (`make_document`), so memory stays flat however many are
issued. A certificate revoked before it is queued is never queued; one revoked after is not
sent: its queued row is cancelled by `revoke`, and a row the worker has already claimed is
cancelled when the worker finds the revocation at rendering (`DocumentWithdrawn`).
Sending is paced: every tick (TICK_SECONDS) tops the delivery queue up to `queue_target`
certificates, QUEUE_SECONDS of sending at the delivery rate (two ticks' worth, so the worker
never waits for the next tick), within QUEUE_MIN..QUEUE_MAX.

The package, by part: base (shared names), numbers, eligibility, issue, templates (background,
signatories), texts (every printed text), registry (find, revoke, export), delivery (the
queue and its tick). Callers import the names from here.
"""

from bot.services.certificates.base import (
    BACKGROUND_MAX,
    CHECK_ALPHABET,
    LOCALES,
    NUMBER_LETTER,
    PLACES,
    REVOKED,
    SOURCE_TYPE,
    TEMPLATES,
)
from bot.services.certificates.delivery import (
    COMPACT_CHUNK,
    ENQUEUE_CHUNK,
    QUEUE_MAX,
    QUEUE_MIN,
    QUEUE_SECONDS,
    TICK_SECONDS,
    compact_sent,
    document_spec,
    enqueue_pending,
    in_flight,
    make_document,
    pump,
    queue_target,
    tick,
)
from bot.services.certificates.eligibility import (
    Eligible,
    Source,
    eligible_for,
    eligible_participants,
    eligible_series,
    eligible_webinar,
    eligible_winners,
    parse_source,
)
from bot.services.certificates.issue import (
    IssueResult,
    Plan,
    issue,
    issue_key,
    plan_issue,
)
from bot.services.certificates.numbers import (
    LEGACY_NUMBER_RE,
    NUMBER_GROUPS,
    NUMBER_RE,
    is_number,
    make_number,
    normalize_number,
    public_name,
)
from bot.services.certificates.registry import (
    export_registry,
    find,
    holder_certificate,
    holder_certificates,
    holder_waiting,
    reissue,
    replacement_of,
    revoke,
)
from bot.services.certificates.templates import (
    TemplateSettings,
    get_settings,
    normalize_background,
    parse_signatories,
    set_background,
    set_signatories,
    signatories_text,
    unsigned_templates,
)
from bot.services.certificates.texts import (
    delivery_caption,
    pdf_content,
    place_label,
    preview_for,
    reason_text,
    render,
    sample_certificate,
    signatories_for,
    source_label,
    template_label,
    verify_link,
)
from bot.services.certificates.verify import VERIFY_MISSES, VERIFY_WINDOW, VerifyMisses

__all__ = [
    "BACKGROUND_MAX",
    "CHECK_ALPHABET",
    "COMPACT_CHUNK",
    "ENQUEUE_CHUNK",
    "LEGACY_NUMBER_RE",
    "LOCALES",
    "NUMBER_GROUPS",
    "NUMBER_LETTER",
    "NUMBER_RE",
    "PLACES",
    "QUEUE_MAX",
    "QUEUE_MIN",
    "QUEUE_SECONDS",
    "REVOKED",
    "SOURCE_TYPE",
    "TEMPLATES",
    "TICK_SECONDS",
    "VERIFY_MISSES",
    "VERIFY_WINDOW",
    "Eligible",
    "IssueResult",
    "Plan",
    "Source",
    "TemplateSettings",
    "VerifyMisses",
    "compact_sent",
    "delivery_caption",
    "document_spec",
    "eligible_for",
    "eligible_participants",
    "eligible_series",
    "eligible_webinar",
    "eligible_winners",
    "enqueue_pending",
    "export_registry",
    "find",
    "get_settings",
    "holder_certificate",
    "holder_certificates",
    "holder_waiting",
    "in_flight",
    "is_number",
    "issue",
    "issue_key",
    "make_document",
    "make_number",
    "normalize_background",
    "normalize_number",
    "parse_signatories",
    "parse_source",
    "pdf_content",
    "place_label",
    "plan_issue",
    "preview_for",
    "public_name",
    "pump",
    "queue_target",
    "reason_text",
    "reissue",
    "render",
    "replacement_of",
    "revoke",
    "sample_certificate",
    "set_background",
    "set_signatories",
    "signatories_for",
    "signatories_text",
    "source_label",
    "template_label",
    "tick",
    "unsigned_templates",
    "verify_link",
]
