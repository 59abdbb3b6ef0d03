"""The monthly review of operator access records (접속기록 점검): 개인정보의 안전성
확보조치 기준 §8 ② asks the controller to check the records at least once a month
for misuse, leaks or unauthorised downloads, and (same paragraph) to check the reason of each
download. :func:`review_month` lists a month's records (on the policy's calendar)
with what needs a look; :func:`sign_review` records who reviewed it and when.

Flags (thresholds in ``PRIVACY_ACCESS_REVIEW``):

``off_hours``      a record outside the working hours or days, in the policy's time zone
``bulk_export``    an operator's exports on one day, when more than ``exports_per_day``
``many_subjects``  an operator's records on one day, when they concern more than
                   ``subjects_per_day`` members
``no_reason``      an export without a reason (written before reasons were required)
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import insert, select

from ..errors import InvalidRequest
from ..storage.tables import access_reviews, operator_access
from .audit import verify_access_records

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["FLAGS", "list_reviews", "month_bounds", "review_month", "sign_review"]

FLAGS = ("off_hours", "bulk_export", "many_subjects", "no_reason")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def month_bounds(services: Services, month: Any) -> tuple[datetime, datetime]:
    """The first instant of ``month`` ("2026-11") and of the next, on the policy's calendar."""
    if not isinstance(month, str) or not _MONTH.match(month):
        raise InvalidRequest(f"month: {month!r} is not a month (YYYY-MM, e.g. 2026-11)")
    start = datetime(int(month[:4]), int(month[5:]), 1, tzinfo=services.policy.tz)
    return start, start + relativedelta(months=1)


def _is_export(task: str) -> bool:
    return task.startswith("export")


def review_month(services: Services, month: Any) -> dict[str, Any]:
    """The month's records, each with its flags, the findings (per operator and
    day) and their counts, the hash chain's state and the reviews already signed."""
    start, end = month_bounds(services, month)
    rules = services.settings.access_review
    tz = services.policy.tz
    query = (
        select(operator_access)
        .where(operator_access.c.accessed_at >= start, operator_access.c.accessed_at < end)
        .order_by(operator_access.c.accessed_at, operator_access.c.id)
    )
    with services.databases.main.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    records: list[dict[str, Any]] = []
    exports: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    subjects: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_day: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        local = r["accessed_at"].astimezone(tz)
        minute = local.hour * 60 + local.minute
        record = {
            "id": r["id"],
            "seq": r["seq"],
            "operator": r["operator"],
            "accessed_at": local.isoformat(),
            "ip": r["ip"],
            "subject": r["subject"],
            "task": r["task"],
            "reason": r["reason"],
            "flags": [],
        }
        if local.weekday() not in rules.days or not rules.hours[0] <= minute < rules.hours[1]:
            record["flags"].append("off_hours")
        if _is_export(r["task"]) and not r["reason"]:
            record["flags"].append("no_reason")
        key = (r["operator"], local.date().isoformat())
        by_day[key].append(record)
        if _is_export(r["task"]):
            exports[key].append(record)
        if r["subject"]:
            subjects[key].add(r["subject"])
        records.append(record)
    findings: list[dict[str, Any]] = []
    for (operator, day), found in sorted(exports.items()):
        if len(found) > rules.exports_per_day:
            findings.append({"flag": "bulk_export", "operator": operator, "day": day, "count": len(found)})
            for record in found:
                record["flags"].append("bulk_export")
    for (operator, day), seen in sorted(subjects.items()):
        if len(seen) > rules.subjects_per_day:
            findings.append({"flag": "many_subjects", "operator": operator, "day": day, "count": len(seen)})
            for record in by_day[(operator, day)]:
                if record["subject"]:
                    record["flags"].append("many_subjects")
    for record in records:
        for flag in ("off_hours", "no_reason"):
            if flag in record["flags"]:
                findings.append(
                    {
                        "flag": flag,
                        "operator": record["operator"],
                        "day": record["accessed_at"][:10],
                        "record": record["id"],
                    }
                )
    counts = {flag: sum(flag in r["flags"] for r in records) for flag in FLAGS}
    return {
        "month": month,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "thresholds": {
            "working_hours": "{:02d}:{:02d}-{:02d}:{:02d}".format(
                *divmod(rules.hours[0], 60), *divmod(rules.hours[1], 60)
            ),
            "working_days": sorted(rules.days),
            "exports_per_day": rules.exports_per_day,
            "subjects_per_day": rules.subjects_per_day,
        },
        "records": records,
        "flagged": sum(bool(r["flags"]) for r in records),
        "counts": counts,
        "findings": findings,
        "chain": verify_access_records(services).to_dict(),
        "reviews": list_reviews(services, month=month),
    }


def sign_review(services: Services, month: Any, reviewer: Any) -> dict[str, Any]:
    """Record that ``reviewer`` reviewed ``month`` now, with what the review found."""
    problems = []
    if not isinstance(reviewer, str) or not reviewer.strip():
        problems.append("reviewer: say who reviewed the records (e.g. --reviewer officer.kang)")
    try:
        month_bounds(services, month)
    except InvalidRequest as exc:
        problems.append(exc.message)
    if problems:
        raise InvalidRequest("; ".join(problems))
    review = review_month(services, month)
    summary = {
        "counts": review["counts"],
        "findings": review["findings"],
        "flagged_records": [r["id"] for r in review["records"] if r["flags"]],
        "chain_ok": review["chain"]["ok"],
    }
    now = services.now()
    with services.databases.main.begin() as conn:
        conn.execute(
            insert(access_reviews).values(
                month=month,
                reviewer=reviewer.strip()[:191],
                reviewed_at=now,
                records=len(review["records"]),
                flagged=review["flagged"],
                summary=json.dumps(summary, ensure_ascii=False, sort_keys=True),
            )
        )
    review["reviews"] = list_reviews(services, month=month)
    return review


def list_reviews(
    services: Services, *, month: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Signed reviews, oldest first: of one ``month``, or signed in [start, end)."""
    tz = services.policy.tz
    query = select(access_reviews).order_by(access_reviews.c.reviewed_at, access_reviews.c.id)
    if month is not None:
        query = query.where(access_reviews.c.month == month)
    if start is not None:
        query = query.where(access_reviews.c.reviewed_at >= start)
    if end is not None:
        query = query.where(access_reviews.c.reviewed_at < end)
    with services.databases.main.connect() as conn:
        return [
            {
                "month": r["month"],
                "reviewer": r["reviewer"],
                "reviewed_at": r["reviewed_at"].astimezone(tz).isoformat(),
                "records": r["records"],
                "flagged": r["flagged"],
                "summary": json.loads(r["summary"]),
            }
            for r in conn.execute(query).mappings()
        ]
