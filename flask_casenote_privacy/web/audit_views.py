"""The officer's audit pages: ``/officer/audit`` (the audit pack, as HTML, JSON or
CSV) and ``/officer/access-review`` (the monthly review of operator access
records, and recording it). Open only to the officer; parse and format only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, url_for
from flask_wtf.csrf import generate_csrf

from ..policy.words.audit import audit_words
from ..rights.access_review import review_month, sign_review
from ..rights.audit import record_operator_access
from ..rights.audit_pack import audit_report, parse_period_bounds, report_csv
from ..services import Services
from .http import client_address, officer_guard, render_page, request_fields, wants_json

__all__ = ["add_audit_routes"]


def add_audit_routes(
    bp: Blueprint, services: Services, *, check_csrf: Callable[[], None], language: Callable[[], str]
) -> None:
    officer_only = officer_guard(services, check_csrf)

    def audit(task: str) -> None:
        ip = client_address(services.settings.trusted_proxies)
        record_operator_access(services, operator=services.current_operator(), task=task, ip=ip)

    @bp.get("/officer/audit")
    @officer_only
    def officer_audit() -> Any:
        today = services.now().astimezone(services.policy.tz).date()
        start = request.args.get("from") or today.replace(day=1).isoformat()
        end = request.args.get("to") or today.isoformat()
        first, after = parse_period_bounds(services, start, end)  # a bad date: 400, nothing recorded
        fmt = request.args.get("format") or ("json" if wants_json() else "html")
        report = audit_report(services, first, after)
        audit(f"view audit report {start}..{end} ({fmt})")
        if fmt == "json":
            return jsonify(report)
        if fmt == "csv":
            name = f"audit-{start}-{end}.csv"
            return Response(
                report_csv(report),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        lang = language()
        lang_arg = request.args.get("lang")
        period: dict[str, Any] = {"from": start, "to": end}
        return render_page(
            "privacy/officer/audit.html",
            lang,
            w=audit_words(lang),
            report=report,
            standalone=False,
            lang_arg=lang_arg,
            csv_url=url_for("privacy.officer_audit", **period, format="csv"),
            json_url=url_for("privacy.officer_audit", **period, format="json"),
            **{"from": start, "to": end},
        )

    @bp.get("/officer/access-review")
    @officer_only
    def officer_access_review() -> Any:
        month = request.args.get("month") or services.now().astimezone(services.policy.tz).strftime("%Y-%m")
        review = review_month(services, month)
        audit(f"review access records {month}")
        if wants_json():
            return jsonify(review)
        lang = language()
        return render_page(
            "privacy/officer/access_review.html",
            lang,
            w=audit_words(lang),
            review=review,
            csrf_token=str(generate_csrf()) if services.settings.csrf else None,
            lang_arg=request.args.get("lang"),
        )

    @bp.post("/officer/access-review")
    @officer_only
    def officer_sign_review() -> Any:
        data = request_fields()
        review = sign_review(services, data.get("month"), services.current_operator())
        if wants_json():
            return jsonify(review), 201
        return redirect(
            url_for("privacy.officer_access_review", month=review["month"], lang=request.args.get("lang")), 303
        )
