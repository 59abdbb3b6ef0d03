"""The officer's audit pack: what a regulator asks the privacy officer to show, for
a period, as one data structure (``flask privacy audit report``, the officer page
``/privacy/officer/audit``). Rendered as HTML, JSON or CSV by the callers.

Sections: the retention inventory (PIPA Art. 21), requests against their deadlines
(Arts. 35-37, 시행령 §41-§44), the destruction ledger as a 파기 관리대장 (시행령 §16,
표준 개인정보 보호지침), provisions by recipient (Art. 17), the operator-access reviews
and the chain's state (안전성 확보조치 기준 §8), and the policy versions (Art. 30).
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..errors import InvalidRequest
from ..retention.inventory import retention_inventory
from ..retention.ledger import destruction_history
from ..storage.tables import policy_versions, provisions
from ..storage.tables import requests as requests_table
from .access_review import list_reviews
from .audit import verify_access_records

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["CSV_SECTIONS", "audit_report", "parse_period_bounds", "report_csv"]


def parse_period_bounds(services: Services, start: Any, end: Any) -> tuple[datetime, datetime]:
    """``from`` and ``to`` (dates, inclusive, on the policy's calendar) as [start, end)."""
    problems, days = [], []
    for name, value in (("from", start), ("to", end)):
        try:
            if not isinstance(value, str):
                raise ValueError
            days.append(datetime.fromisoformat(value).date())
        except ValueError:
            problems.append(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
    if not problems and days[0] > days[1]:
        problems.append(f"from: {start} is after to: {end}")
    if problems:
        raise InvalidRequest("; ".join(problems))
    tz = services.policy.tz
    return datetime.combine(days[0], time(), tz), datetime.combine(days[1] + timedelta(days=1), time(), tz)


def _deadline(row: Any, now: datetime) -> str:
    done, due = row["completed_at"], row["due_at"]
    if done is not None:
        return "on_time" if done <= due else "late"
    return "overdue" if now > due else "open"


def _requests(services: Services, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    tz = services.policy.tz
    t = requests_table
    query = select(t).where(t.c.received_at >= start, t.c.received_at < end).order_by(t.c.received_at, t.c.id)
    rows = []
    with services.databases.main.connect() as conn:
        for r in conn.execute(query).mappings():
            ground = next((g for g in services.policy.refusal_grounds if g.id == r["refusal_ground"]), None)
            rows.append(
                {
                    "id": r["id"],
                    "kind": r["kind"],
                    "channel": r["channel"],
                    "status": r["status"],
                    "received_at": r["received_at"].astimezone(tz).isoformat(),
                    "due_at": r["due_at"].astimezone(tz).isoformat(),
                    "completed_at": r["completed_at"].astimezone(tz).isoformat() if r["completed_at"] else None,
                    "deadline": _deadline(r, now),
                    "decided_by": r["decided_by"],
                    "refusal_ground": r["refusal_ground"],
                    "refusal_statute": ground.statute.get("ko") if ground and ground.statute else None,
                    "refusal_reason": r["refusal_reason"],
                }
            )
    summary = {k: sum(r["deadline"] == k for r in rows) for k in ("on_time", "late", "overdue", "open")}
    summary["refused"] = sum(r["status"] == "refused" for r in rows)
    summary["total"] = len(rows)
    return {"summary": summary, "rows": rows}


def _provisions(services: Services, start: datetime, end: datetime) -> list[dict[str, Any]]:
    tz = services.policy.tz
    t = provisions
    grouped: dict[str, dict[str, Any]] = {}
    subjects: dict[str, set[str]] = defaultdict(set)
    query = select(t.c.recipient, t.c["items"], t.c.subject, t.c.provided_at).where(
        t.c.provided_at >= start, t.c.provided_at < end
    )
    with services.databases.main.connect() as conn:
        for r in conn.execute(query.order_by(t.c.provided_at)).mappings():
            recipient = services.policy.find_recipient(r["recipient"])
            entry = grouped.setdefault(
                r["recipient"],
                {
                    "recipient": r["recipient"],
                    "name": recipient.name.get("ko") if recipient else r["recipient"],
                    "provisions": 0,
                    "items": set(),
                    "first": r["provided_at"],
                    "last": r["provided_at"],
                },
            )
            entry["provisions"] += 1
            entry["items"].update(i for i in r["items"].split(",") if i)
            entry["last"] = r["provided_at"]
            subjects[r["recipient"]].add(r["subject"])
    return [
        {
            **e,
            "subjects": len(subjects[key]),
            "items": ", ".join(sorted(e["items"])),
            "first": e["first"].astimezone(tz).isoformat(),
            "last": e["last"].astimezone(tz).isoformat(),
        }
        for key, e in sorted(grouped.items())
    ]


def _policy_versions(services: Services) -> list[dict[str, Any]]:
    tz = services.policy.tz
    t = policy_versions
    with services.databases.main.connect() as conn:
        rows = conn.execute(select(t.c.version, t.c.digest, t.c.recorded_at).order_by(t.c.id)).mappings().all()
    return [
        {"version": r["version"], "digest": r["digest"], "recorded_at": r["recorded_at"].astimezone(tz).isoformat()}
        for r in rows
    ]


def audit_report(services: Services, start: datetime, end: datetime) -> dict[str, Any]:
    """The audit pack for [start, end): pure data, JSON-ready."""
    now = services.now()
    tz = services.policy.tz
    ledger = [r for r in destruction_history(services) if start <= datetime.fromisoformat(r["ran_at"]) < end]
    return {
        "controller": services.policy.controller.name.get("ko"),
        "officer": services.policy.officer.name,
        "from": start.astimezone(tz).date().isoformat(),
        "to": (end.astimezone(tz) - timedelta(days=1)).date().isoformat(),  # the last day, included
        "generated_at": now.astimezone(tz).isoformat(),
        "policy_version": services.policy.version,
        "retention": retention_inventory(services, now),
        "requests": _requests(services, start, end, now),
        "destructions": ledger,
        "provisions": _provisions(services, start, end),
        "access_reviews": list_reviews(services, start=start, end=end),
        "access_chain": verify_access_records(services).to_dict(),
        "policy_versions": _policy_versions(services),
    }


# -- CSV: one file, one section after another ----------------------------------------
CSV_SECTIONS = {
    "retention": ["retention", "label", "period", "rows", "oldest", "next_expiry", "overdue", "statute"],
    "requests": [
        "id",
        "kind",
        "channel",
        "status",
        "received_at",
        "due_at",
        "completed_at",
        "deadline",
        "decided_by",
        "refusal_ground",
        "refusal_statute",
        "refusal_reason",
    ],
    "destructions": [
        "ran_at",
        "retention",
        "items",
        "count",
        "method",
        "executor",
        "approved_by",
        "target",
        "database",
        "statute",
        "run_id",
    ],
    "provisions": ["recipient", "name", "provisions", "subjects", "items", "first", "last"],
    "access_reviews": ["month", "reviewer", "reviewed_at", "records", "flagged"],
    "policy_versions": ["version", "recorded_at", "digest"],
}


def report_csv(report: dict[str, Any]) -> str:
    """The pack as one CSV file any spreadsheet opens (UTF-8 with a BOM, for Excel):
    a ``# section`` line, its header and rows, a blank line; the period first."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["# audit report", report["controller"]])
    for key in ("from", "to", "generated_at", "policy_version"):
        w.writerow([key, report[key]])
    w.writerow(["access_chain", json.dumps(report["access_chain"], ensure_ascii=False)])
    for section, columns in CSV_SECTIONS.items():
        rows = report[section]["rows"] if section == "requests" else report[section]
        w.writerow([])
        w.writerow([f"# {section}"])
        w.writerow(columns)
        for row in rows:
            w.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()
