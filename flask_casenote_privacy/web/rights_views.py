"""Routes of the data subject's rights: withdraw (signed in, or by emailed link),
request status, export. Parse and format only: the work is in ``rights/``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, session, url_for
from flask_wtf.csrf import generate_csrf

from ..errors import InvalidRequest, NotFound, SignInRequired, TokenError
from ..rights.export import export_subject
from ..rights.grounds import withhold
from ..rights.links import read_withdraw_link, request_withdraw_link
from ..rights.objections import object_to_request
from ..rights.records import get_request
from ..rights.requests import register_request
from ..services import Services
from .http import client_address, render_page, request_fields, wants_json

__all__ = ["add_rights_routes"]

OWN_REQUESTS = "_privacy_requests"  # in Flask's session: the last requests this browser made

_EMAIL_SENT = {
    "ko": "입력하신 주소가 회원 주소라면 동의철회 확인 링크를 보냈습니다.",
    "en": "If that address belongs to a member, a link to confirm the withdrawal is on its way.",
}
_TOKEN_ERRORS = {
    "expired": (
        "링크의 유효기간이 지났습니다. 다시 요청해 주세요.",
        "This link has expired; ask for a new one.",
    ),
    "invalid": ("올바르지 않은 링크입니다.", "This link is not valid."),
    "used": ("이미 사용된 링크입니다.", "This link has already been used."),
}


def add_rights_routes(
    bp: Blueprint,
    services: Services,
    *,
    check_csrf: Callable[[], None],
    language: Callable[[], str],
) -> None:
    def remember_own(request_id: str) -> None:
        """Let this browser see the status of a request it made (Flask's signed session)."""
        session[OWN_REQUESTS] = [*session.get(OWN_REQUESTS, [])[-4:], request_id]

    def subject_or_401() -> str:
        """The signed-in member's identity (a reused host id is a new identity)."""
        subject = services.current_identity()
        if subject is None:
            raise SignInRequired(
                "sign in first; without an account session, ask for a withdrawal link by email (POST /withdraw/email)"
            )
        return subject

    def render(template: str, **context: Any) -> str:
        return render_page(template, language(), **context)

    def answer(req: dict[str, Any]) -> Any:
        if wants_json():
            return jsonify(req)
        return redirect(url_for("privacy.request_status", request_id=req["request_id"], lang=language()), 303)

    @bp.post("/withdraw")
    def withdraw() -> Any:
        """The signed-in subject withdraws: {"scope": "all"} or {"purposes": [...]}."""
        check_csrf()
        subject = subject_or_401()
        body = request_fields(multi=True)
        if not body:
            raise InvalidRequest('expected {"scope": "all"} or {"purposes": ["<purpose id>", ...]}')
        scope = body.get("scope")
        scope = scope[0] if isinstance(scope, list) and len(scope) == 1 else scope
        purposes = body.get("purposes") or body.get("purpose") or []
        if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes):
            raise InvalidRequest("purposes: expected a list of purpose ids")
        if not isinstance(scope, (str, type(None))):
            raise InvalidRequest('scope: expected "all"')
        req = register_request(
            services, subject=subject, kind="withdraw", channel="web", scope=scope, purposes=purposes
        )
        remember_own(req["request_id"])
        return answer(req)

    @bp.post("/withdraw/email")
    def withdraw_email() -> Any:
        """Mail a withdrawal link; the answer never tells whether the address is known."""
        check_csrf()
        email = request_fields().get("email")
        if not isinstance(email, str) or "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
            raise InvalidRequest("email: a valid email address is required")
        request_withdraw_link(services, email.strip(), client_address(services.settings.trusted_proxies))
        lang = language()
        if wants_json():
            return jsonify(status="accepted", message=_EMAIL_SENT[lang]), 202
        return render("privacy/message.html", message=_EMAIL_SENT[lang]), 202

    def read_link(token: str) -> Any:
        try:
            link = read_withdraw_link(services, token)
        except TokenError as exc:
            return None, exc.reason
        return link, None

    def token_error(reason: str) -> Any:
        ko, en = _TOKEN_ERRORS[reason]
        message = ko if language() == "ko" else en
        if wants_json():
            return jsonify(error=f"token_{reason}", message=message), 400
        return render("privacy/message.html", message=message), 400

    @bp.route("/withdraw/confirm/<token>", methods=["GET", "POST"])
    def withdraw_confirm(token: str) -> Any:
        """The emailed link: a confirmation page, then POST withdraws (membership)."""
        link, problem = read_link(token)
        if problem:
            return token_error(problem)
        if request.method == "GET":
            return render(
                "privacy/withdraw_confirm.html",
                token=token,
                csrf_token=generate_csrf() if services.settings.csrf else None,
                retention=services.policy.retention,
            )
        check_csrf()
        try:
            services.withdraw_tokens.use(services.databases.main, link, services.now())
        except TokenError as exc:
            return token_error(exc.reason)
        req = register_request(services, subject=link.subject, kind="withdraw", channel="email", scope="all")
        remember_own(req["request_id"])
        if wants_json():
            return jsonify(req)
        return render("privacy/request.html", req=req)

    @bp.get("/requests/<request_id>")
    def request_status(request_id: str) -> Any:
        """A request's status: the subject's own only (anything else is 404). A member
        who has just left is no longer its subject (their identity ended), so this
        browser remembers the requests it made."""
        if request_id in session.get(OWN_REQUESTS, []):
            req = get_request(services, request_id)
            host = services.current_subject()  # signed out, or still under the id that left
            mine = host is None or services.host_of(req["subject"]) == host
        else:
            subject = subject_or_401()
            req = get_request(services, request_id) if len(request_id) <= 64 else {}
            mine = req.get("subject") == subject
        if not mine:
            raise NotFound(f"no request {request_id!r}")
        if wants_json():
            return jsonify(req)
        return render("privacy/request.html", req=req, csrf_token=generate_csrf() if services.settings.csrf else None)

    @bp.post("/requests/<request_id>/objection")
    def request_objection(request_id: str) -> Any:
        """The signed-in member objects to their request's refusal, limitation or
        postponement (이의제기); someone else's request is 404."""
        check_csrf()
        subject = subject_or_401()
        if len(request_id) > 64:
            raise NotFound(f"no request {request_id!r}")
        data = request_fields()
        req = object_to_request(services, request_id, statement=data.get("statement"), channel="web", subject=subject)
        if wants_json():
            return jsonify(req), 201
        return redirect(url_for("privacy.request_status", request_id=request_id, lang=request.args.get("lang")), 303)

    @bp.get("/export")
    def export() -> Response:
        """Everything held about the signed-in subject (열람), as JSON."""
        subject = subject_or_401()
        response = jsonify(withhold(services, export_subject(services, subject)))
        if request.args.get("download"):
            response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
        return response
