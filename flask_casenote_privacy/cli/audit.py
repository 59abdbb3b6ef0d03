"""``flask privacy audit ...``: the operator access records' chain, their monthly
review, and the officer's audit pack. Parse and format only (rights/audit.py,
rights/access_review.py, rights/audit_pack.py do the work)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import render_template

from ..policy.render import template_variables
from ..policy.words.audit import audit_words
from ..rights.access_review import review_month, sign_review
from ..rights.audit import verify_access_records
from ..rights.audit_pack import audit_report, parse_period_bounds, report_csv
from .common import app_services, echo_result, in_app

__all__ = ["audit_group"]


@click.group("audit")
def audit_group() -> None:
    """Operator access records (접속기록) and the officer's audit pack."""


@audit_group.command("verify")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@in_app
def audit_verify(fmt: str) -> None:
    """Check the hash chain of the operator access records; exit 1 at the first broken link."""
    check = verify_access_records(app_services())
    if fmt == "json":
        echo_result(json.dumps(check.to_dict(), ensure_ascii=False))
    elif check.ok:
        echo_result(
            f"ok: {check.checked} records checked (positions {check.anchor_seq + 1} to {check.head_seq}; "
            f"{check.anchor_seq} destroyed by the purge before them), chain intact"
        )
    else:
        echo_result(f"BROKEN at record {check.broken_seq} (id {check.broken_id or '-'}): {check.problem}")
    if not check.ok:
        raise SystemExit(1)


@audit_group.command("access")
@click.option("--month", required=True, help="The month to review, YYYY-MM (the policy's calendar).")
@click.option("--reviewer", default=None, help="Who reviews (required with --sign).")
@click.option("--sign", is_flag=True, help="Record the review: who, when, what it found.")
@click.option("--all", "show_all", is_flag=True, help="List every record, not only the flagged ones.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@in_app
def audit_access(month: str, reviewer: str | None, sign: bool, show_all: bool, fmt: str) -> None:
    """The monthly review: the month's operator access records and what needs a look
    (bulk exports, off-hours access, many members seen in a day, exports without a reason)."""
    services = app_services()
    review = sign_review(services, month, reviewer) if sign else review_month(services, month)
    if fmt == "json":
        echo_result(json.dumps(review, ensure_ascii=False, indent=2))
        return
    counts = ", ".join(f"{k} {v}" for k, v in review["counts"].items())
    echo_result(f"{review['month']}: {len(review['records'])} records, {review['flagged']} flagged ({counts})")
    chain = review["chain"]
    echo_result(
        "chain: intact" if chain["ok"] else f"chain: BROKEN at record {chain['broken_seq']}: {chain['problem']}"
    )
    for f in review["findings"]:
        what = f"{f['count']}" if "count" in f else f"record {f['record']}"
        echo_result(f"  {f['flag']:<14} {f['operator']:<20} {f['day']}  {what}")
    for r in review["records"]:
        if show_all or r["flags"]:
            echo_result(
                f"{r['accessed_at'][:19]}  {r['operator']:<20} {r['task']:<32} subject={r['subject'] or '-'} "
                f"reason={r['reason'] or '-'} {','.join(r['flags'])}"
            )
    for rv in review["reviews"]:
        echo_result(
            f"reviewed by {rv['reviewer']} at {rv['reviewed_at']} ({rv['records']} records, {rv['flagged']} flagged)"
        )


@audit_group.command("report")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD (included).")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "csv"]), default="json", show_default=True)
@click.option("--lang", type=click.Choice(["ko", "en"]), default="ko", show_default=True, help="Language of the HTML.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to this file.")
@in_app
def audit_report_command(start: str, end: str, fmt: str, lang: str, out: Path | None) -> None:
    """The audit pack: retention inventory, requests against deadlines, the destruction
    ledger (파기 관리대장), provisions by recipient, access reviews, policy versions."""
    services = app_services()
    first, after = parse_period_bounds(services, start, end)
    report = audit_report(services, first, after)
    if fmt == "json":
        text = json.dumps(report, ensure_ascii=False, indent=2)
    elif fmt == "csv":
        text = report_csv(report)
    else:
        text = render_template(
            "privacy/officer/audit.html",
            **template_variables({"lang": lang, "w": audit_words(lang), "report": report, "standalone": True}),
        )
    if out is None:
        echo_result(text)
    else:
        out.write_text(text, encoding="utf-8")
        echo_result(f"wrote {out}")
