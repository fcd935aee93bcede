"""The readable DSAR report, in the subject's language (sv or en), as HTML (Jinja2) and PDF."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from callvault.dsar.gather import SubjectData
from callvault.runtime import Runtime

TEMPLATES = Path(__file__).parent / "templates"

_T: dict[str, dict[str, str]] = {
    "title": {"sv": "Registerutdrag", "en": "Copy of your personal data"},
    "intro_caller": {
        "sv": "Du har begärt att få veta vilka personuppgifter vi har om dig som har ringt vår "
        "kundtjänst (artikel 15 i dataskyddsförordningen). Här är allt vi har, hittat med "
        "hjälp av ditt telefonnummer.",
        "en": "You asked which personal data we hold about you as a caller to our customer "
        "service (Article 15 GDPR). This is everything we hold, found by your telephone number.",
    },
    "intro_employee": {
        "sv": "Du har begärt att få veta vilka personuppgifter om dig som finns i "
        "samtalsinspelningssystemet (artikel 15 i dataskyddsförordningen).",
        "en": "You asked which personal data about you the call-recording system holds "
        "(Article 15 GDPR).",
    },
    "request": {"sv": "Begäran", "en": "Request"},
    "reference": {"sv": "Referens", "en": "Reference"},
    "received": {"sv": "Mottagen", "en": "Received"},
    "deadline": {"sv": "Svar senast", "en": "Answer due by"},
    "generated": {"sv": "Sammanställd", "en": "Compiled"},
    "summary": {"sv": "Vad vi har", "en": "What we hold"},
    "n_recordings": {"sv": "Inspelningar", "en": "Recordings"},
    "n_evidence": {"sv": "Samtyckesbevis", "en": "Consent evidence"},
    "n_withdrawals": {"sv": "Återkallelser", "en": "Withdrawals"},
    "n_deletions": {"sv": "Raderade inspelningar", "en": "Deleted recordings"},
    "n_access": {"sv": "Loggade åtkomster", "en": "Logged accesses"},
    "n_activity": {"sv": "Dina egna loggade åtgärder", "en": "Your own logged actions"},
    "recordings": {"sv": "Inspelningar", "en": "Recordings"},
    "col_recording": {"sv": "Inspelning", "en": "Recording"},
    "col_started": {"sv": "Samtalet började", "en": "Call started"},
    "col_duration": {"sv": "Längd (s)", "en": "Length (s)"},
    "col_purposes": {"sv": "Ändamål", "en": "Purposes"},
    "col_expires": {"sv": "Raderas", "en": "Deleted on"},
    "col_time": {"sv": "Tid", "en": "Time"},
    "col_role": {"sv": "Roll", "en": "Role"},
    "col_action": {"sv": "Åtgärd", "en": "Action"},
    "col_reason": {"sv": "Skäl", "en": "Reason"},
    "col_object": {"sv": "Objekt", "en": "Object"},
    "col_outcome": {"sv": "Utfall", "en": "Outcome"},
    "col_channel": {"sv": "Registrerad via", "en": "Registered through"},
    "none": {"sv": "Inga.", "en": "None."},
    "source": {"sv": "Varifrån uppgifterna kommer", "en": "Where the data comes from"},
    "source_caller": {
        "sv": "Uppgifterna kommer från dig: de spelades in när du ringde vår kundtjänst och "
        "tryckte 1 för att samtycka till inspelning. Ditt nummer kom från telefonnätet.",
        "en": "The data comes from you: it was recorded when you called our customer service "
        "and pressed 1 to consent to recording. Your number came from the telephone network.",
    },
    "source_employee": {
        "sv": "Uppgifterna kommer från samtal du har hanterat i kundtjänsten och från "
        "systemets åtkomstlogg över det du har gjort i systemet.",
        "en": "The data comes from calls you handled in customer service and from the "
        "system's access log of what you did in the system.",
    },
    "access": {"sv": "Vem som har haft åtkomst", "en": "Who has had access"},
    "access_text": {
        "sv": "Varje åtkomst loggas. Här visas rollen hos den som hade åtkomst, när och varför; "
        "enskilda medarbetares namn lämnas inte ut, för att skydda deras uppgifter.",
        "en": "Every access is logged. Shown here is the role of whoever had access, when and "
        "why; individual employees' names are not given, to protect their data.",
    },
    "roles_seen": {"sv": "Roller som har haft åtkomst", "en": "Roles that had access"},
    "refusals": {"sv": "Nej till inspelning", "en": "Refusals to be recorded"},
    "refusals_text": {
        "sv": "När någon trycker 2 eller inte trycker något sparar vi bara att det hände, när och "
        "under vilken policyversion; inget nummer och inget samtals-id. Sådana uppgifter går "
        "inte att koppla till dig och är inte personuppgifter om dig, så de ingår inte här.",
        "en": "When someone presses 2 or presses nothing we keep only that it happened, when "
        "and under which policy version; no number and no call id. Such records cannot be "
        "linked to you and are not personal data about you, so they are not included here.",
    },
    "withdrawals": {"sv": "Återkallade samtycken", "en": "Withdrawals of consent"},
    "deletions_text": {
        "sv": "Inspelningar som raderats efter din återkallelse: endast kvittot finns kvar.",
        "en": "Recordings deleted after your withdrawal: only the receipt is left.",
    },
    "own_activity": {"sv": "Din åtkomsthistorik", "en": "Your access history"},
    "others_text": {
        "sv": "Inspelningarna av samtal du har hanterat innehåller också kundens "
        "personuppgifter. De listas här men kopieras inte (artikel 15.4); kontakta "
        "dataskyddsombudet om du vill lyssna på dem.",
        "en": "The recordings of calls you handled also hold the customer's personal data. "
        "They are listed here but not copied (Article 15(4)); contact the data protection "
        "officer if you want to listen to them.",
    },
    "contents": {"sv": "Filer i detta paket", "en": "Files in this bundle"},
    "contents_text": {
        "sv": "recordings/<id>/: ljudet (FLAC, dekrypterat), transkription (JSON) och "
        "metadata (JSON). consent_evidence.json, withdrawals.json, deletions.json, "
        "access_log.json och, för medarbetare, own_activity.json och evaluations.json "
        "(kvalitetsutvärderingar, invändningar och svar).",
        "en": "recordings/<id>/: the audio (FLAC, decrypted), transcript (JSON) and metadata "
        "(JSON). consent_evidence.json, withdrawals.json, deletions.json, access_log.json "
        "and, for employees, own_activity.json and evaluations.json (quality evaluations, "
        "disputes and answers).",
    },
}


def text(key: str, language: str) -> str:
    return _T[key][language]


def _when(value: datetime | None) -> str:
    """Stockholm time with its zone (CET or CEST), which every reader can place."""
    from callvault.web.i18n import DISPLAY_TIMEZONE

    if value is None:
        return ""
    local = value.astimezone(DISPLAY_TIMEZONE)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def report_context(
    session: Session, runtime: Runtime, data: SubjectData, *, generated_at: datetime
) -> dict[str, Any]:
    """Every fact the report shows, as plain values (the HTML and the PDF both render this)."""
    from callvault.policy.art13 import art13_information
    from callvault.web.i18n import using_language

    language = data.request.language
    audience = "caller" if data.is_caller else "employee"
    info = art13_information(session, runtime, audience, language)
    # Codes (roles, purposes, actions, channels) are shown by name, in the subject's language,
    # with the interface's catalogue.
    with using_language(language):
        return _context(data, info, language, generated_at)


def _context(
    data: SubjectData, info: dict[str, Any], language: str, generated_at: datetime
) -> dict[str, Any]:
    from callvault.web.labels import (
        action_label,
        object_label,
        outcome_label,
        reason_label,
        role_or_actor_label,
        source_label,
    )
    from callvault.web.messages import purpose_label

    role_counts = Counter(
        role_or_actor_label(data.roles.get(e.actor, "unknown")) for e in data.access_log
    )
    return {
        "lang": language,
        "t": {k: v[language] for k, v in _T.items()},
        "info": info,
        "is_caller": data.is_caller,
        "reference": data.request.reference,
        "received": _when(data.request.received_at),
        "deadline": _when(data.request.deadline_at),
        "generated": _when(generated_at),
        "counts": {
            "n_recordings": len(data.recordings),
            "n_evidence": len(data.consent_evidence),
            "n_withdrawals": len(data.withdrawals),
            "n_deletions": len(data.deletions),
            "n_access": len(data.access_log),
            **({} if data.is_caller else {"n_activity": len(data.own_activity)}),
        },
        "recordings": [
            {
                "id": str(r.id),
                "started": _when(r.started_at),
                "duration": f"{r.duration_s:.0f}",
                "purposes": ", ".join(purpose_label(code) for code in r.purpose_codes),
                "expires": _when(r.expires_at),
            }
            for r in data.recordings
        ],
        "withdrawals": [
            {
                "reference": w.reference,
                "registered": _when(w.registered_at),
                "channel": source_label(w.channel),
            }
            for w in data.withdrawals
        ],
        "deletions": [
            {
                "id": str(d.recording_id),
                "deleted": _when(d.deleted_at or d.started_at),
                "reason": source_label(d.reason),
            }
            for d in data.deletions
        ],
        "roles_seen": sorted(role_counts.items()),
        "access": [
            {
                "time": _when(e.at),
                "role": role_or_actor_label(data.roles.get(e.actor, "unknown")),
                "action": action_label(e.action),
                "reason": reason_label(e.reason) if e.reason else "",
            }
            for e in data.access_log
        ],
        "own_activity": [
            {
                "time": _when(e.at),
                "action": action_label(e.action),
                "object": f"{object_label(e.object_type) if e.object_type else ''} "
                f"{e.object_id or ''}".strip(),
                "outcome": outcome_label(e.outcome),
            }
            for e in data.own_activity
        ],
    }


_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


def render_html(context: dict[str, Any]) -> str:
    return _env.get_template("report.html").render(**context)


PDF_MARGIN_MM = 18


def render_pdf(context: dict[str, Any]) -> bytes:
    """The same report as a PDF (reportlab), for subjects who want a document to keep."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    t, info = context["t"], context["info"]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=PDF_MARGIN_MM * mm,
        rightMargin=PDF_MARGIN_MM * mm,
        title=f"{t['title']} {context['reference']}",
        author=info["controller"]["name"],
        invariant=1,
    )
    doc.build(pdf_story(context))
    return buffer.getvalue()


def pdf_story(context: dict[str, Any]) -> list[Any]:
    """The PDF's flowables: headings, paragraphs and tables with fixed column shares."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    # Table cells in a smaller type, so ids, times and headings fit their columns unbroken.
    cell = ParagraphStyle("Cell", parent=styles["BodyText"], fontSize=8, leading=10)
    width = A4[0] - 2 * PDF_MARGIN_MM * mm
    t = context["t"]
    story: list[Any] = []

    def para(value: str, style: str = "BodyText") -> None:
        story.append(Paragraph(escape(value), styles[style]))

    def table(header: list[str], rows: list[list[str]], shares: list[float]) -> None:
        """`shares` of the text width per column (they add up to 1)."""
        if not rows:
            para(t["none"])
            return
        cells = [[Paragraph(escape(c), cell) for c in row] for row in [header, *rows]]
        grid = Table(cells, repeatRows=1, colWidths=[width * share for share in shares])
        grid.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(grid)

    info = context["info"]
    para(f"{t['title']}: {info['controller']['name']}", "Title")
    para(t["intro_caller"] if context["is_caller"] else t["intro_employee"])
    para(t["request"], "Heading2")
    table(
        [t["reference"], t["received"], t["deadline"], t["generated"]],
        [[context["reference"], context["received"], context["deadline"], context["generated"]]],
        [0.22, 0.26, 0.26, 0.26],
    )
    para(t["summary"], "Heading2")
    table(["", ""], [[t[k], str(v)] for k, v in context["counts"].items()], [0.7, 0.3])
    para(t["recordings"], "Heading2")
    if not context["is_caller"]:
        para(t["others_text"])
    table(
        [
            t["col_recording"],
            t["col_started"],
            t["col_duration"],
            t["col_purposes"],
            t["col_expires"],
        ],
        [
            [r["id"], r["started"], r["duration"], r["purposes"], r["expires"]]
            for r in context["recordings"]
        ],
        [0.33, 0.19, 0.09, 0.20, 0.19],
    )
    if context["is_caller"]:
        para(t["withdrawals"], "Heading2")
        table(
            [t["reference"], t["col_time"], t["col_channel"]],
            [[w["reference"], w["registered"], w["channel"]] for w in context["withdrawals"]],
            [0.3, 0.3, 0.4],
        )
        para(t["deletions_text"])
        table(
            [t["col_recording"], t["col_time"], t["col_reason"]],
            [[d["id"], d["deleted"], d["reason"]] for d in context["deletions"]],
            [0.42, 0.25, 0.33],
        )
        para(t["refusals"], "Heading2")
        para(t["refusals_text"])
    para(t["source"], "Heading2")
    para(t["source_caller"] if context["is_caller"] else t["source_employee"])
    para(t["access"], "Heading2")
    para(t["access_text"])
    para(t["roles_seen"], "Heading3")
    table(
        [t["col_role"], t["n_access"]],
        [[r, str(n)] for r, n in context["roles_seen"]],
        [0.7, 0.3],
    )
    table(
        [t["col_time"], t["col_role"], t["col_action"], t["col_reason"]],
        [[a["time"], a["role"], a["action"], a["reason"]] for a in context["access"]],
        [0.2, 0.22, 0.2, 0.38],
    )
    if not context["is_caller"]:
        para(t["own_activity"], "Heading2")
        table(
            [t["col_time"], t["col_action"], t["col_object"], t["col_outcome"]],
            [[a["time"], a["action"], a["object"], a["outcome"]] for a in context["own_activity"]],
            [0.2, 0.25, 0.4, 0.15],
        )
    for section in info["sections"]:
        para(section["heading"], "Heading2")
        for paragraph in section["paragraphs"]:
            para(str(paragraph))
    para(t["contents"], "Heading2")
    para(t["contents_text"])
    story.append(Spacer(1, 5 * mm))
    return story
