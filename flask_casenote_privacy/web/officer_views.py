"""The privacy officer's pages under ``/officer/``: requests due and overdue,
intake of written/emailed requests, complete, refuse, export. Open only where
``@privacy.officer_loader`` says so. Parse and format only: the work, and the
operator access record of every view or export, is in ``rights/desk.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, redirect, request, url_for
from flask_wtf.csrf import generate_csrf

from ..errors import InvalidRequest
from ..retention.ledger import destruction_history
from ..rights import desk
from ..rights.audit import operator_access_history
from ..rights.correction import correctable_items
from ..rights.grounds import withholdable_parts
from ..rights.identity import IDENTITY_CHECKS, REQUESTERS
from ..rights.outbox import undelivered
from ..rights.requests import CHANNELS, KINDS
from ..services import Services
from .http import client_address, maybe_url, officer_guard, render_page, request_fields, wants_json

__all__ = ["add_officer_routes"]


def add_officer_routes(
    bp: Blueprint, services: Services, *, check_csrf: Callable[[], None], language: Callable[[], str]
) -> None:
    officer_only = officer_guard(services, check_csrf)

    def operator() -> desk.Operator:
        return desk.Operator(services.current_operator(), client_address(services.settings.trusted_proxies))

    def csrf() -> str | None:
        return str(generate_csrf()) if services.settings.csrf else None

    def decided(req: dict[str, Any], request_id: str) -> Any:
        """After complete or refuse: the request as JSON, or back to its page."""
        if wants_json():
            return jsonify(req)
        return redirect(url_for("privacy.officer_request", request_id=request_id, lang=request.args.get("lang")), 303)

    @bp.get("/officer/")
    @officer_only
    def officer_index() -> Any:
        requests_ = desk.list_requests(services, operator())
        notices = undelivered(services)
        if wants_json():
            return jsonify(requests=requests_, undelivered_notices=notices)
        lang = language()
        return render_page(
            "privacy/officer/index.html",
            lang,
            requests=requests_,
            kinds=KINDS,
            channels=CHANNELS,
            purposes=services.policy.purposes,
            identity_checks=IDENTITY_CHECKS,
            requesters=REQUESTERS,
            items=[services.policy.item(i) for i in correctable_items(services)],
            csrf_token=csrf(),
            history_url=maybe_url("privacy.officer_destructions", lang=request.args.get("lang")),
            notices=notices,
            lang_arg=request.args.get("lang"),  # links and forms keep the officer's ?lang=
        )

    @bp.post("/officer/requests")
    @officer_only
    def officer_register() -> Any:
        data = request_fields(multi=True)
        is_form = not request.is_json

        def one(key: str) -> Any:
            value = data.get(key)
            # A form field comes as a list (checkboxes); a JSON value is taken as sent.
            return value[0] if is_form and isinstance(value, list) and len(value) == 1 else value

        purposes = data.get("purposes") or data.get("purpose") or []
        items = data.get("items") or data.get("item") or []
        scope = one("scope")
        req = desk.register(
            services,
            operator(),
            # As sent: register_request refuses anything but text, and nothing is stored.
            subject=one("subject"),
            kind=one("kind"),
            channel=one("channel"),
            scope=None if scope in ("", "items", "purposes") else scope,
            purposes=purposes if isinstance(purposes, list) else [purposes],
            # How the requester's identity was checked; an agent's power of attorney.
            identity_check=one("identity_check") or None,
            requester=one("requester") or None,
            agent_reference=one("agent_reference") or None,
            items=items if isinstance(items, list) else [items],
        )
        if wants_json():
            return jsonify(req), 201
        return redirect(url_for("privacy.officer_request", request_id=req["id"], lang=request.args.get("lang")), 303)

    @bp.get("/officer/requests/<request_id>")
    @officer_only
    def officer_request(request_id: str) -> Any:
        req = desk.view_request(services, request_id, operator())
        if wants_json():
            return jsonify(req)
        return render_page(
            "privacy/officer/request.html",
            language(),
            req=req,
            csrf_token=csrf(),
            grounds=services.policy.grounds_for(req["kind"]),
            parts=withholdable_parts(services),
            identity_checks=IDENTITY_CHECKS,
            lang_arg=request.args.get("lang"),
        )

    @bp.post("/officer/requests/<request_id>/complete")
    @officer_only
    def officer_complete(request_id: str) -> Any:
        """A correction's new values (PIPA §36): ``{"values": {...}}`` or the form's
        ``value.<item>`` fields; used at once and never stored."""
        values, by_hand = _correction_fields()
        req = desk.complete(services, request_id, operator(), values=values, by_hand=by_hand)
        return decided(req, request_id)

    @bp.post("/officer/requests/<request_id>/refuse")
    @officer_only
    def officer_refuse(request_id: str) -> Any:
        data = request_fields(multi=True)
        withheld = data.get("withheld") or []
        req = desk.refuse(
            services,
            request_id,
            operator(),
            ground=_one(data, "ground") or "",
            reason=_one(data, "reason") or "",
            withheld=withheld if isinstance(withheld, list) else [withheld],
        )
        return decided(req, request_id)

    @bp.post("/officer/requests/<request_id>/postpone")
    @officer_only
    def officer_postpone(request_id: str) -> Any:
        data = request_fields()
        req = desk.postpone(services, request_id, operator(), until=data.get("until"), reason=data.get("reason"))
        return decided(req, request_id)

    @bp.post("/officer/requests/<request_id>/objection")
    @officer_only
    def officer_objection(request_id: str) -> Any:
        data = request_fields()
        req = desk.object_to(
            services, request_id, operator(), statement=data.get("statement"), channel=data.get("channel")
        )
        return decided(req, request_id)

    @bp.post("/officer/requests/<request_id>/objection/decision")
    @officer_only
    def officer_decide_objection(request_id: str) -> Any:
        """Upholding an objection to a refused correction: its new values as for complete."""
        data = request_fields()
        values, by_hand = _correction_fields()
        req = desk.decide_objection(
            services,
            request_id,
            operator(),
            decision=data.get("decision"),
            reason=data.get("reason"),
            values=values,
            by_hand=by_hand,
        )
        return decided(req, request_id)

    @bp.get("/officer/subjects/<subject>/export")
    @officer_only
    def officer_export(subject: str) -> Any:
        # The reason is required (400 without it): 안전성 확보조치 기준 §8 ②.
        return jsonify(desk.export(services, subject, operator(), reason=request.args.get("reason")))

    @bp.get("/officer/destructions")
    @officer_only
    def officer_destructions() -> Any:
        """The destruction ledger (파기 기록): what was destroyed, when, under which law."""
        rows = destruction_history(services)
        if wants_json():
            return jsonify(destructions=rows)
        return render_page(
            "privacy/officer/destructions.html", language(), rows=rows, lang_arg=request.args.get("lang")
        )

    @bp.get("/officer/access-records")
    @officer_only
    def officer_access_records() -> Any:
        return jsonify(records=operator_access_history(services, request.args.get("subject")))


def _one(data: Any, key: str) -> Any:
    """One value of a form that may repeat fields (a JSON value is taken as sent)."""
    value = data.get(key)
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _correction_fields() -> tuple[dict[str, Any] | None, bool]:
    """A correction's new values and ``by_hand``: JSON ``{"values": {...}, "by_hand": true}``
    or the form's ``value.<item>`` and ``by_hand=1`` fields."""
    if request.is_json:
        data = request_fields()
        values, by_hand = data.get("values"), data.get("by_hand") is True
    else:
        values = {k.removeprefix("value."): v for k, v in request.form.items() if k.startswith("value.") and v}
        by_hand = request.form.get("by_hand") == "1"
    if values is not None and not isinstance(values, dict):
        raise InvalidRequest('values: expected {"<item id>": "<new value>", ...}')
    return values or None, by_hand
