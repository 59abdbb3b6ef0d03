"""The ``privacy`` blueprint: the policy page, the consent routes, and the rights and
officer routes of the modules beside it. Parse and format only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from ..capture.decision import decide_request
from ..consent import change_consent, validate_choices
from ..errors import InvalidRequest
from ..policy.contents import extension_measures
from ..policy.render import policy_context
from ..policy.render_contents import consent_details
from ..services import Services
from .audit_views import add_audit_routes
from .history_views import add_history_routes, lang_arg, requested_version
from .http import (
    check_language,
    json_body,
    maybe_url,
    no_store,
    register_error_handlers,
    render_page,
    safe_next,
    wants_json,
)
from .member_views import add_member_routes
from .officer_views import add_officer_routes
from .rights_views import add_rights_routes

__all__ = ["create_blueprint"]

TEMPLATES = str(Path(__file__).parent.parent / "templates")


def create_blueprint(services: Services) -> Blueprint:
    """Build the blueprint for one ``init_app`` call (never at import time)."""
    bp = Blueprint("privacy", __name__, template_folder=TEMPLATES)

    @bp.before_request
    def validate_query() -> None:
        # Every input is checked before anything changes (a withdrawal, a mail).
        check_language(services.policy.languages)

    bp.after_request(no_store)

    def language() -> str:
        return request.args.get("lang") or services.settings.default_language

    def check_csrf() -> None:
        if not services.settings.csrf:
            return
        token = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
        try:
            validate_csrf(token)
        except ValidationError as exc:
            raise InvalidRequest(
                f"CSRF check failed: {exc}. Send the token from GET {url_for('privacy.consent')} "
                "in the X-CSRF-Token header (JSON) or the csrf_token field (forms)."
            ) from None

    @bp.get("/policy")
    def policy_page() -> str:
        """The policy people read, rendered from the policy file."""
        lang = language()
        old = requested_version(services)  # ?version=<id>: an earlier text (web/history_views.py)
        context = policy_context(old or services.policy, lang, extension_measures(services.settings))
        return render_page(
            "privacy/policy.html",
            lang,
            consent_url=maybe_url("privacy.consent"),
            history_url=url_for("privacy.policy_history", lang=lang_arg(services)),
            old_version=old is not None and old.digest != services.policy.digest,
            version_id=request.args.get("version") if old is not None else None,
            **context,
        )

    @bp.get("/policy.json")
    def policy_json() -> Response:
        return jsonify(services.policy.to_dict())

    @bp.route("/consent", methods=["GET", "POST"])
    def consent() -> Any:
        """Read or change the optional (consent-based) purposes."""
        policy = services.policy
        if request.method == "POST":
            check_csrf()
            choices = consent_choices(services)
            cookie = services.consent_cookie
            cookie_value = change_consent(
                services.databases.main,
                policy,
                cookie,
                services.current_identity(),
                choices,
                current_cookie=request.cookies.get(cookie.name),
                now=services.now(),
            )
            state = decide_request(services, cookie_value)
            response: Response
            if wants_json():
                response = jsonify(granted=sorted(state.granted), gpc=state.gpc)
            else:
                target = safe_next(request.form.get("next")) or url_for(
                    "privacy.consent", lang=request.args.get("lang"), saved=1
                )
                response = redirect(target, 303)  # type: ignore[assignment]
            if cookie_value is not None:
                response.set_cookie(
                    cookie.name,
                    cookie_value,
                    max_age=cookie.max_age,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure,
                )
            return response
        state = decide_request(services)
        purposes = [
            {
                "id": p.id,
                "label": p.label.to_dict(),
                "description": p.description.to_dict(),
                "items": list(p.items),
                "granted": p.id in state.granted,
                "refused_by_gpc": state.gpc and p.honours_gpc,
                # What PIPA §15② asks the form to say, in each language of the policy.
                "details": {lang: consent_details(policy, p, lang) for lang in policy.languages},
            }
            for p in policy.consent_purposes
        ]
        csrf_token = generate_csrf() if services.settings.csrf else None
        if wants_json():
            return jsonify(
                policy_version=policy.version,
                purposes=purposes,
                granted=sorted(state.granted),
                gpc=state.gpc,
                csrf_token=csrf_token,
            )
        lang = language()
        return render_page(
            "privacy/consent.html",
            lang,
            purposes=purposes,
            csrf_token=csrf_token,
            gpc=state.gpc,
            saved=request.args.get("saved") == "1",
            policy_url=url_for("privacy.policy_page", lang=lang),
        )

    add_history_routes(bp, services, language=language)
    add_rights_routes(bp, services, check_csrf=check_csrf, language=language)
    add_member_routes(bp, services, check_csrf=check_csrf, language=language)
    add_officer_routes(bp, services, check_csrf=check_csrf, language=language)
    add_audit_routes(bp, services, check_csrf=check_csrf, language=language)
    register_error_handlers(bp)

    return bp


def consent_choices(services: Services) -> dict[str, bool]:
    """The choices of a consent POST (JSON or form); 400 listing every problem."""
    policy = services.policy
    if request.is_json:
        body = json_body()
        raw = body.get("purposes") if isinstance(body, dict) else None
    elif request.form.get("action") in ("accept_all", "decline_all"):
        accept = request.form["action"] == "accept_all"
        raw = {p.id: accept for p in policy.consent_purposes}
    else:
        ticked = set(request.form.getlist("purpose"))
        raw = {p.id: p.id in ticked for p in policy.consent_purposes}
        raw.update({pid: True for pid in ticked if pid not in raw})  # let validation name strays
    choices, problems = validate_choices(policy, raw)
    if problems:
        raise InvalidRequest("; ".join(problems))
    return choices
