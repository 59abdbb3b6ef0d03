"""The privacy officer's pages under ``/officer/``: requests due and overdue,
intake of written/emailed requests, complete, refuse, export. Allowed only
where ``@privacy.officer_loader`` says so; every view or export of a member's
data writes an operator access record."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import Forbidden

from ..errors import request_fields
from ..policy import i18n
from ..rights.audit import operator_access_history, record_operator_access
from ..rights.requests import (
    CHANNELS,
    KINDS,
    complete_request,
    get_request,
    list_requests,
    refuse_request,
    register_request,
)

if TYPE_CHECKING:
    from ..extension import Privacy

__all__ = ["add_officer_routes"]

F = TypeVar("F", bound=Callable[..., Any])


class OfficerOnly(Forbidden):
    def __init__(self) -> None:
        super().__init__(description="the officer pages are open only to the privacy officer")


def add_officer_routes(
    bp: Blueprint, privacy: Privacy, *, check_csrf: Callable[[], None], wants_json: Callable[[], bool]
) -> None:
    def officer_only(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not privacy.is_officer():
                raise OfficerOnly()
            if request.method == "POST":
                check_csrf()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    def audit(task: str, subject: str | None) -> None:
        record_operator_access(
            privacy, operator=privacy.current_operator(), task=task, subject=subject, ip=request.remote_addr
        )

    def csrf() -> str | None:
        from flask_wtf.csrf import generate_csrf

        return str(generate_csrf()) if privacy.settings.csrf else None

    @bp.get("/officer/")
    @officer_only
    def officer_index() -> Any:
        requests_ = list_requests(privacy)
        audit("list requests", None)
        if wants_json():
            return jsonify(requests=requests_)
        return render_template(
            "privacy/officer/index.html",
            lang="ko",
            requests=requests_,
            kinds=KINDS,
            channels=CHANNELS,
            purposes=privacy.policy.purposes,
            csrf_token=csrf(),
            ui=lambda key: i18n.ui(key, "ko"),
            policy=privacy.policy,
            history_url=_maybe_url("privacy.officer_destructions"),
        )

    @bp.post("/officer/requests")
    @officer_only
    def officer_register() -> Any:
        data = request_fields(multi=True)

        def one(key: str) -> Any:
            value = data.get(key)
            return value[0] if isinstance(value, list) and len(value) == 1 else value

        purposes = data.get("purposes") or data.get("purpose") or []
        req = register_request(
            privacy,
            subject=str(one("subject") or ""),
            kind=str(one("kind") or ""),
            channel=str(one("channel") or ""),
            scope=one("scope") or None,
            purposes=purposes if isinstance(purposes, list) else [str(purposes)],
            registered_by=privacy.current_operator(),
        )
        audit(f"register {req['kind']} request {req['id']}", req["subject"])
        if wants_json():
            return jsonify(req), 201
        return redirect(url_for("privacy.officer_request", request_id=req["id"]), 303)

    @bp.get("/officer/requests/<request_id>")
    @officer_only
    def officer_request(request_id: str) -> Any:
        req = get_request(privacy, request_id)
        audit(f"view request {request_id}", req["subject"])
        if wants_json():
            return jsonify(req)
        return render_template(
            "privacy/officer/request.html",
            lang="ko",
            req=req,
            csrf_token=csrf(),
            ui=lambda key: i18n.ui(key, "ko"),
            grounds=privacy.policy.refusal_grounds,
        )

    @bp.post("/officer/requests/<request_id>/complete")
    @officer_only
    def officer_complete(request_id: str) -> Any:
        req = complete_request(privacy, request_id, privacy.current_operator())
        audit(f"complete request {request_id}", req["subject"])
        if wants_json():
            return jsonify(req)
        return redirect(url_for("privacy.officer_request", request_id=request_id), 303)

    @bp.post("/officer/requests/<request_id>/refuse")
    @officer_only
    def officer_refuse(request_id: str) -> Any:
        data = request_fields()
        req = refuse_request(
            privacy,
            request_id,
            ground=str(data.get("ground") or ""),
            reason=str(data.get("reason") or ""),
            officer=privacy.current_operator(),
        )
        audit(f"refuse request {request_id}", req["subject"])
        if wants_json():
            return jsonify(req)
        return redirect(url_for("privacy.officer_request", request_id=request_id), 303)

    @bp.get("/officer/subjects/<subject>/export")
    @officer_only
    def officer_export(subject: str) -> Any:
        data = privacy.export(subject)
        audit("export subject data", subject)
        return jsonify(data)

    @bp.get("/officer/destructions")
    @officer_only
    def officer_destructions() -> Any:
        """The destruction ledger (파기 기록): what was destroyed, when, under which law."""
        from ..retention.ledger import destruction_history

        rows = destruction_history(privacy)
        if wants_json():
            return jsonify(destructions=rows)
        return render_template("privacy/officer/destructions.html", lang="ko", rows=rows)

    @bp.get("/officer/access-records")
    @officer_only
    def officer_access_records() -> Any:
        return jsonify(records=operator_access_history(privacy, request.args.get("subject")))


def _maybe_url(endpoint: str) -> str | None:
    from werkzeug.routing import BuildError

    try:
        return url_for(endpoint)
    except BuildError:
        return None
