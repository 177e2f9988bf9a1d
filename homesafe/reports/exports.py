"""Exports: the triage queue as CSV and a report's case file as PDF for a police referral.

Both are reads that leave an audit entry. The CSV lists exactly the queue's reports (same
selector, same filter parsing); the PDF holds only what the reporter's consent shares with
police (selectors.police_view), plus evidence hashes and their custody trail.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from homesafe.accounts.models import Membership, Role
from homesafe.audit.services import audit_append
from homesafe.common.errors import DomainError
from homesafe.reports import selectors
from homesafe.reports import taxonomy as tx
from homesafe.reports.models import Report


class ExportRefused(DomainError):
    status = 403


# --- the queue as CSV ----------------------------------------------------------------------------

QUEUE_COLUMNS = [
    "id",
    "organisation",
    "status",
    "priority",
    "reported_at",
    "occurred_on",
    "venue_type",
    "incident_types",
    "bias",
    "reporter_role",
    "identity_level",
    "assignee_id",
    "consent_police",
    "consent_statistics",
]
PERSONAL_COLUMNS = [
    "contact_name",
    "contact_email",
    "contact_phone",
    "place_text",
    "lat",
    "lng",
    "narrative",
]


def admin_organisation_ids(user: Any) -> set[int]:
    return set(
        Membership.objects.filter(user=user, role=Role.ORG_ADMIN).values_list(
            "organisation_id", flat=True
        )
    )


def may_export_personal_data(user: Any) -> bool:
    """Only an organisation admin may add contact, names, narrative and place to a CSV."""
    return bool(admin_organisation_ids(user))


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


@dataclass(frozen=True)
class QueueCsv:
    content: str
    rows: int


def queue_csv(
    *, user: Any, filters: selectors.QueueFilters, include_personal: bool = False
) -> QueueCsv:
    """The user's triage queue under `filters`, every page, as CSV; audited.

    Personal data (contact, names, place, narrative) only when asked for by an org admin, and
    then only for reports of the organisations they administer."""
    admin_of = admin_organisation_ids(user) if include_personal else set()
    if include_personal and not admin_of:
        raise ExportRefused(
            _("Only an organisation admin may export personal data."), code="forbidden"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(QUEUE_COLUMNS + (PERSONAL_COLUMNS if include_personal else []))
    count = 0
    for report in selectors.case_queue(user, filters).iterator(chunk_size=500):
        row: list[object] = [
            report.pk,
            report.organisation.slug,
            report.status,
            report.priority,
            report.reported_at.isoformat(),
            report.occurred_on.isoformat() if report.occurred_on else "",
            report.venue_type,
            " ".join(report.codes_for("incident_type")),
            " ".join(report.codes_for("bias")),
            report.reporter_role,
            report.identity_level,
            report.assignee_id or "",
            report.consent_police,
            "yes" if report.consent_statistics else "no",
        ]
        if include_personal:
            if report.organisation_id in admin_of:
                contact = report.contact or {}
                point = report.point or {}
                row += [
                    contact.get("name", ""),
                    contact.get("email", ""),
                    contact.get("phone", ""),
                    report.place_text or "",
                    point.get("lat", ""),
                    point.get("lng", ""),
                    report.narrative or "",
                ]
            else:
                row += [""] * len(PERSONAL_COLUMNS)
        writer.writerow([_cell(v) for v in row])
        count += 1
    audit_append(
        action="queue.export_csv",
        object_type="queue",
        object_id="-",
        actor=user,
        data={
            "rows": count,
            "personal_data": include_personal,
            "filters": {k: str(v) for k, v in vars(filters).items() if v is not None},
        },
    )
    return QueueCsv(content=out.getvalue(), rows=count)


# --- the case file as PDF ------------------------------------------------------------------------


def evidence_summary_for_export(report: Report) -> list[dict[str, Any]] | None:
    """The evidence locker's items of this report (item id, kind, sha256, size, received_at,
    custody entries), or None when the evidence app does not provide them."""
    try:
        from homesafe.evidence.selectors import report_evidence_summary
    except ImportError:
        return None
    return list(report_evidence_summary(report))


def _item_id(item: dict[str, Any]) -> str:
    return str(item.get("item") or item.get("id") or "")


def record_evidence_export(
    *, report: Report, items: list[dict[str, Any]], user: Any, purpose: str
) -> None:
    """Each exported evidence item gets an "export" entry in its custody trail (the evidence
    app's record_custody: an `evidence.export` entry of the hash-chained audit log)."""
    ids = [i for i in (_item_id(item) for item in items) if i]
    if not ids:
        return
    from homesafe.evidence.access import record_custody
    from homesafe.evidence.models import EvidenceItem

    found = EvidenceItem.objects.filter(report=report, pk__in=ids).select_related(
        "report"
    )
    for item in sorted(found, key=lambda i: ids.index(str(i.pk))):
        record_custody(
            item,
            action="export",
            actor=user,
            data={"purpose": purpose, "report": str(report.pk)},
        )


_FONTS_READY: list[str] = []
FONT_CANDIDATES = [
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
     "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
]


def _fonts() -> tuple[str, str]:
    """A Unicode TrueType font (names such as Māori ones need more than Latin-1), else Vera,
    which reportlab ships."""
    if _FONTS_READY:
        return _FONTS_READY[0], _FONTS_READY[1]
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    vera = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    candidates = [
        *FONT_CANDIDATES,
        (os.path.join(vera, "Vera.ttf"), os.path.join(vera, "VeraBd.ttf")),
    ]
    for regular, bold in candidates:
        if os.path.exists(regular) and os.path.exists(bold):
            pdfmetrics.registerFont(TTFont("HSRegular", regular))
            pdfmetrics.registerFont(TTFont("HSBold", bold))
            _FONTS_READY[:] = ["HSRegular", "HSBold"]
            return "HSRegular", "HSBold"
    raise RuntimeError("no TrueType font found for PDF exports")


def _labels(choices: tx.Choices, values: list[str]) -> str:
    return ", ".join(tx.label(choices, v) or v for v in values) or "—"


def _when(value: Any, zone: Any) -> str:
    if value is None:
        return "—"
    return timezone.localtime(value, zone).strftime("%d %b %Y %H:%M")


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else (_("yes") if value else _("no"))


def case_file_pdf(*, report: Report, user: Any, via: str) -> bytes:
    """The case file for a police referral, holding only what consent shares; audited, and each
    evidence item's export is entered in its custody trail. Consent "none" is refused."""
    if report.consent_police not in ("anonymised", "identifiable"):
        raise ExportRefused(
            _("The reporter has not agreed to share this report with police."),
            code="no_police_consent",
        )
    view = selectors.police_view(report)
    evidence = evidence_summary_for_export(report)
    pdf = _render_case_file(report, view, evidence)
    audit_append(
        action="report.export_pdf",
        object_type="report",
        object_id=report.pk,
        actor=user,
        organisation_id=report.organisation_id,
        data={
            "shared_as": view["shared_as"],
            "via": via,
            "evidence_items": len(evidence or []),
        },
    )
    if evidence:
        record_evidence_export(report=report, items=evidence, user=user, purpose="case_file_pdf")
    return pdf


def _render_case_file(
    report: Report, view: dict[str, Any], evidence: list[dict[str, Any]] | None
) -> bytes:
    import zoneinfo
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Flowable,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    regular, bold = _fonts()
    zone = zoneinfo.ZoneInfo(report.organisation.timezone)
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=16, leading=20, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=12, leading=15, spaceBefore=10,
                        spaceAfter=4)
    mono = ParagraphStyle("mono", parent=body, fontName=regular, fontSize=7.5, leading=9.5)

    def p(text: object, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    def cell(value: object) -> Flowable:
        if isinstance(value, Flowable):
            return value
        return p(value if value not in (None, "") else "—")

    def facts(rows: list[tuple[str, object]]) -> Table:
        table = Table(
            [[p(k, small), cell(v)] for k, v in rows],
            colWidths=[45 * mm, 125 * mm],
        )
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]))
        return table

    identifiable = view["shared_as"] == "identifiable"
    story: list[Any] = [
        p(_("Case file for a police referral"), h1),
        p(
            _("%(org)s · report %(id)s · generated %(when)s")
            % {"org": view["organisation"], "id": view["id"],
               "when": _when(timezone.now(), zone)},
            small,
        ),
        Spacer(1, 4 * mm),
        p(
            _("Shared with police: identifiable. The reporter agreed to share who they are.")
            if identifiable
            else _(
                "Shared with police: anonymised. No contact details, names, free text or exact "
                "place; the area is coarse. The reporter can withdraw consent at any time."
            ),
            ParagraphStyle("consent", parent=body, fontName=bold),
        ),
        p(_("When and where"), h2),
    ]
    area = view["area"]
    area_text = "—"
    if area:
        area_text = _("%(precision)s: H3 %(cell)s, around %(lat)s, %(lng)s") % {
            "precision": tx.label(tx.LOCATION_PRECISIONS, area["precision"]) or area["precision"],
            "cell": area["h3_cell"] or "—",
            "lat": area["lat"],
            "lng": area["lng"],
        }
    when_rows: list[tuple[str, object]] = [
        (_("Reported"), _when(view["reported_at"], zone)),
        (
            _("Happened"),
            " ".join(
                x for x in (
                    view["occurred_on"].strftime("%d %b %Y") if view["occurred_on"] else "",
                    view["occurred_time"].strftime("%H:%M") if view["occurred_time"] else "",
                    _("(approximately)") if view["occurred_approximate"] else "",
                ) if x
            ),
        ),
        (_("Area"), area_text),
        (_("Venue"), tx.label(tx.VENUE_TYPES, view["venue_type"])),
    ]
    if identifiable:
        when_rows.insert(3, (_("Place"), view["place_text"]))
    story.append(facts(when_rows))

    story.append(p(_("What happened"), h2))
    what_rows: list[tuple[str, object]] = [
        (_("Reporter"), tx.label(tx.REPORTER_ROLES, view["reporter_role"])),
        (_("Incident"), _labels(tx.INCIDENT_TYPES, view["incident_types"])),
        (_("Targeted for"), _labels(tx.BIAS_MOTIVATIONS, view["bias"])),
        (_("Bias indicators"), _labels(tx.BIAS_INDICATORS, view["bias_indicators"])),
        (_("Bias perceived by"), _labels(tx.BIAS_PERCEIVED_BY, view["bias_perceived_by"])),
        (_("Offenders"), " · ".join(x for x in (
            tx.label(tx.OFFENDER_COUNTS, view["offenders_count"]),
            tx.label(tx.RELATIONSHIPS, view["relationship"]),
        ) if x)),
        (_("Injuries"), tx.label(tx.INJURIES, view["injuries"])),
        (_("Bystanders"), " ".join(x for x in (
            str(view["bystanders_count"]) if view["bystanders_count"] is not None else "",
            _labels(tx.BYSTANDER_ACTIONS, view["bystander_actions"]),
        ) if x)),
    ]
    if identifiable:
        what_rows.append((_("Offender description"), view["offender_description"]))
    story.append(facts(what_rows))
    if identifiable:
        story += [p(_("In the reporter's words"), h2), p(view["narrative"] or "—")]
        contact = view["contact"] or {}
        story += [
            p(_("Contact"), h2),
            facts([
                (_("Name"), contact.get("name")),
                (_("Email"), contact.get("email")),
                (_("Phone"), contact.get("phone")),
                (_("Preferred channel"), contact.get("channel")),
                (_("Safe times"), contact.get("safe_times")),
                (_("Language"), contact.get("language")),
            ]),
        ]
    else:
        story.append(p(_("The narrative is withheld: the report is shared anonymised."), small))

    story.append(p(_("Police response so far"), h2))
    hours = view["hours_to_police_contact"]
    story.append(p(
        _("Hours until police made contact after the report: %(h)s (benchmark %(b)s h)")
        % {"h": "—" if hours is None else hours, "b": tx.POLICE_CONTACT_BENCHMARK_HOURS}
    ))
    if not view["police_responses"]:
        story.append(p(_("Nothing recorded yet."), small))
    for entry in view["police_responses"]:
        help_text = ", ".join(
            f"{tx.label(tx.POLICE_HELP, k) or k}: {tx.label(tx.POLICE_HELP_ANSWERS, v) or v}"
            for k, v in entry["help_requested"].items()
        )
        rows: list[tuple[str, object]] = [
            (_("Entered"), " · ".join((
                tx.label(tx.POLICE_ENTERED_BY, entry["entered_by"]),
                _when(entry["created_at"], zone),
            ))),
            (_("Contacted"), " ".join(x for x in (
                tx.label(tx.POLICE_CONTACTED, entry["contacted"]),
                tx.label(tx.POLICE_CONTACT_METHODS, entry["contact_method"]),
                (_("arrived after %(m)s min") % {"m": entry["minutes_to_arrive"]})
                if entry["minutes_to_arrive"] is not None else "",
            ) if x)),
            (_("Police made contact"), _when(entry["police_contact_at"], zone)
             if entry["police_contact_at"] else ""),
            (_("Help asked"), help_text),
            (_("Attitude"), tx.label(tx.OFFICER_ATTITUDES, entry["officer_attitude"])),
            (_("Recorded"), tx.label(tx.POLICE_RECORDING, entry["recording"])),
            (_("Investigation"), tx.label(tx.INVESTIGATION, entry["investigation"])),
            (_("Outcomes"), ", ".join(
                f"{tx.label(tx.POLICE_OUTCOMES, code)}: {_yes_no(value)}"
                for code, value in entry["outcomes"]
            )),
        ]
        if entry["police_reference"]:
            rows.append((_("Police reference"), entry["police_reference"]))
        if entry["alternative_offered"]:
            rows.append((_("Offered instead"), entry["alternative_offered"]))
        if entry["withdrawal_reason"]:
            rows.append((_("Reason for withdrawing"), entry["withdrawal_reason"]))
        story += [facts([r for r in rows if r[1]]), Spacer(1, 2 * mm)]

    story.append(p(_("Evidence and its custody trail"), h2))
    if evidence is None:
        story.append(p(_("The evidence listing is not available on this server yet."), small))
    elif not evidence:
        story.append(p(_("No evidence has been received for this report."), small))
    else:
        story.append(p(
            _("SHA-256 of each original as received; the originals are kept unaltered and "
              "encrypted. Each entry of the custody trail is part of a hash-chained log."),
            small,
        ))
        for item in evidence:
            story.append(facts([
                (_("Item"), _item_id(item)),
                (_("Kind"), " · ".join(str(x) for x in (item.get("kind"), item.get("mime")) if x)),
                # Split in two so the 64 hex digits wrap inside the column.
                (_("SHA-256"), Paragraph(escape(
                    f"{str(item.get('sha256', ''))[:32]} {str(item.get('sha256', ''))[32:]}"
                ), mono)),
                (_("Size"), f"{item.get('size', '')} bytes"),
                (_("Received"), _when(item.get("received_at"), zone)
                 if item.get("received_at") else ""),
            ]))
            custody = [
                [
                    p(_when(c.get("at"), zone) if c.get("at") else "", small),
                    p(c.get("action", ""), small),
                    p(" ".join(str(x) for x in (c.get("actor_kind"), c.get("actor_id"))
                               if x not in (None, "")), small),
                    Paragraph(escape(str(c.get("entry_hash", ""))[:16]), mono),
                ]
                for c in item.get("custody") or []
            ]
            if custody:
                custody.insert(0, [p(_("When"), small), p(_("Custody entry"), small),
                                   p(_("By"), small), p(_("Entry hash"), small)])
                table = Table(custody, colWidths=[35 * mm, 55 * mm, 40 * mm, 40 * mm])
                table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
                story.append(table)
            story.append(Spacer(1, 3 * mm))

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(
            18 * mm, 10 * mm,
            _("Confidential: shared under the reporter's consent, which they may withdraw. "
              "Page %(n)s") % {"n": doc.page},
        )
        canvas.restoreState()

    buffer = io.BytesIO()
    # Metadata names no person and no place: only what the document is.
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title="homesafe case file",
        author="homesafe",
        subject="Case file for a police referral",
        creator="homesafe",
        producer="homesafe",
        keywords="",
        lang=settings.LANGUAGE_CODE,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
