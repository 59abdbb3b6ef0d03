"""The signed-in member's own page, ``/rights``: correct their data, delete optional
items without leaving, suspend named purposes (PIPA §36, §37), each one form and
one submit (§38④). Parse and format only: the work is in ``rights/self_service.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, redirect, request, session, url_for
from flask_wtf.csrf import generate_csrf

from ..errors import InvalidRequest, SignInRequired
from ..rights.correction import correctable_items
from ..rights.partial import deletable_items
from ..rights.self_service import correct_own, delete_own_items, stop_own_purposes
from ..services import Services
from .http import render_page, request_fields, wants_json
from .rights_views import OWN_REQUESTS

__all__ = ["add_member_routes"]


def add_member_routes(
    bp: Blueprint, services: Services, *, check_csrf: Callable[[], None], language: Callable[[], str]
) -> None:
    def member() -> str:
        subject = services.current_identity()
        if subject is None:
            raise SignInRequired("sign in first: this page is the signed-in member's own")
        return subject

    def answer(reqs: list[dict[str, Any]]) -> Any:
        session[OWN_REQUESTS] = [*session.get(OWN_REQUESTS, [])[-4:], *(r["request_id"] for r in reqs)][-5:]
        if wants_json():
            return jsonify(reqs[0] if len(reqs) == 1 else {"requests": reqs})
        # The first is what the member waits for (a stop the officer decides comes first).
        return redirect(url_for("privacy.request_status", request_id=reqs[0]["request_id"], lang=language()), 303)

    @bp.get("/rights")
    def rights_page() -> Any:
        member()
        policy = services.policy
        context: dict[str, Any] = {
            "correctable": [policy.item(i) for i in correctable_items(services)],
            "deletable": [policy.item(i) for i in deletable_items(services)],
            "consent_purposes": [p for p in policy.purposes if p.needs_consent],
            "other_purposes": [p for p in policy.purposes if not p.needs_consent],
            "csrf_token": generate_csrf() if services.settings.csrf else None,
        }
        if wants_json():
            return jsonify(
                correctable=[i.id for i in context["correctable"]],
                deletable=[i.id for i in context["deletable"]],
                consent_purposes=[p.id for p in context["consent_purposes"]],
                other_purposes=[p.id for p in context["other_purposes"]],
                csrf_token=context["csrf_token"],
            )
        return render_page("privacy/rights.html", language(), **context)

    @bp.post("/rights/correct")
    def rights_correct() -> Any:
        """``{"values": {"email": "new@example.kr"}}``, or a form's ``value.<item>``
        fields (empty ones are left as they are)."""
        check_csrf()
        subject = member()
        if request.is_json:
            values = request_fields().get("values")
        else:
            values = {
                key.removeprefix("value."): value
                for key, value in request.form.items()
                if key.startswith("value.") and value.strip()
            }
        return answer([correct_own(services, subject, values)])

    @bp.post("/rights/delete-items")
    def rights_delete_items() -> Any:
        """``{"items": ["phone"]}``, or a form's ``item`` checkboxes."""
        check_csrf()
        subject = member()
        items = request_fields().get("items") if request.is_json else request.form.getlist("item")
        return answer([delete_own_items(services, subject, items)])

    @bp.post("/rights/stop")
    def rights_stop() -> Any:
        """``{"purposes": [...]}``, or a form's ``purpose`` checkboxes."""
        check_csrf()
        subject = member()
        purposes = request_fields().get("purposes") if request.is_json else request.form.getlist("purpose")
        if purposes is None:
            raise InvalidRequest('purposes: expected ["<purpose id>", ...]')
        return answer(stop_own_purposes(services, subject, purposes))
