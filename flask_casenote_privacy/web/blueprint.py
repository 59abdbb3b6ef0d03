"""The ``privacy`` blueprint: routes only; the logic lives in the modules they call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError
from wtforms.validators import ValidationError

from ..capture.hooks import cookie_grants, decide_request
from ..consent import record_consent, validate_choices
from ..errors import InvalidRequest
from ..policy import i18n
from ..policy.render import policy_context
from .officer_views import add_officer_routes
from .rights_views import add_rights_routes

if TYPE_CHECKING:
    from ..extension import Privacy

__all__ = ["create_blueprint"]


def _url(endpoint: str) -> str | None:
    """The URL of an endpoint a later capability may not have registered."""
    try:
        return url_for(endpoint)
    except BuildError:
        return None


def _safe_next(target: str | None) -> str | None:
    """A same-site path to go back to after a form (a consent banner), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def create_blueprint(privacy: Privacy) -> Blueprint:
    """Build the blueprint for one ``init_app`` call (never at import time)."""
    bp = Blueprint("privacy", __name__, template_folder=str(Path(__file__).parent.parent / "templates"))

    def language() -> str:
        languages = privacy.policy.languages
        lang = request.args.get("lang", languages[0])
        if lang not in languages:
            raise InvalidRequest(f"unknown language {lang!r}; this policy is available in: {', '.join(languages)}")
        return lang

    def check_csrf() -> None:
        if not privacy.settings.csrf:
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
        context = policy_context(privacy.policy, language())
        return render_template("privacy/policy.html", consent_url=_url("privacy.consent"), **context)

    @bp.get("/policy.json")
    def policy_json() -> Response:
        return jsonify(privacy.policy.to_dict())

    @bp.route("/consent", methods=["GET", "POST"])
    def consent() -> Any:
        """Read or change the optional (consent-based) purposes."""
        policy = privacy.policy
        if request.method == "POST":
            check_csrf()
            choices = consent_choices(privacy)
            subject = privacy.current_subject()
            if subject is not None:
                record_consent(privacy.databases.main, policy, subject, choices, channel="web", now=privacy.now())
                cookie_value = None
            else:
                merged = {g.purpose: g.granted for g in cookie_grants(privacy)} | choices
                cookie_value = privacy.consent_cookie.dumps(policy, merged)
            state = decide_request(privacy, cookie_value)
            response: Response
            if wants_json():
                response = jsonify(granted=sorted(state.granted), gpc=state.gpc)
            else:
                target = _safe_next(request.form.get("next")) or url_for(
                    "privacy.consent", lang=request.args.get("lang"), saved=1
                )
                response = redirect(target, 303)  # type: ignore[assignment]
            if cookie_value is not None:
                cookie = privacy.consent_cookie
                response.set_cookie(
                    cookie.name,
                    cookie_value,
                    max_age=cookie.max_age,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure,
                )
            return response
        state = decide_request(privacy)
        purposes = [
            {
                "id": p.id,
                "label": p.label.to_dict(),
                "description": p.description.to_dict(),
                "items": list(p.items),
                "granted": p.id in state.granted,
                "refused_by_gpc": state.gpc and p.honours_gpc,
            }
            for p in policy.consent_purposes
        ]
        csrf_token = generate_csrf() if privacy.settings.csrf else None
        if wants_json():
            return jsonify(
                policy_version=policy.version,
                purposes=purposes,
                granted=sorted(state.granted),
                gpc=state.gpc,
                csrf_token=csrf_token,
            )
        lang = language()
        return render_template(
            "privacy/consent.html",
            lang=lang,
            purposes=purposes,
            csrf_token=csrf_token,
            gpc=state.gpc,
            saved=request.args.get("saved") == "1",
            ui=lambda key: i18n.ui(key, lang),
            policy_url=url_for("privacy.policy_page", lang=lang),
        )

    add_rights_routes(bp, privacy, check_csrf=check_csrf, wants_json=wants_json, language=language)
    add_officer_routes(bp, privacy, check_csrf=check_csrf, wants_json=wants_json)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        """JSON clients get {"error", "message"}; browsers the usual error page."""
        if wants_json() or request.path.endswith(".json"):
            code = error.code or 500
            name = (error.name or "error").lower().replace(" ", "_")
            return jsonify(error=name, message=error.description), code
        return error

    return bp


def consent_choices(privacy: Privacy) -> dict[str, bool]:
    """The choices of a consent POST (JSON or form); 400 listing every problem."""
    policy = privacy.policy
    if request.is_json:
        body = request.get_json(silent=True)
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
