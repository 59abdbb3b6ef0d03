"""The ``privacy`` blueprint: routes only; the logic lives in the modules they call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from werkzeug.routing import BuildError

from .errors import InvalidRequest
from .render import policy_context

if TYPE_CHECKING:
    from .extension import Privacy

__all__ = ["create_blueprint"]


def _url(endpoint: str) -> str | None:
    """The URL of an endpoint a later capability may not have registered."""
    try:
        return url_for(endpoint)
    except BuildError:
        return None


def create_blueprint(privacy: Privacy) -> Blueprint:
    """Build the blueprint for one ``init_app`` call (never at import time)."""
    bp = Blueprint("privacy", __name__, template_folder="templates")

    def language() -> str:
        languages = privacy.policy.languages
        lang = request.args.get("lang", languages[0])
        if lang not in languages:
            raise InvalidRequest(
                f"unknown language {lang!r}; this policy is available in: {', '.join(languages)}"
            )
        return lang

    @bp.get("/policy")
    def policy_page() -> str:
        """The policy people read, rendered from the policy file."""
        context = policy_context(privacy.policy, language())
        return render_template("privacy/policy.html", consent_url=_url("privacy.consent"), **context)

    @bp.get("/policy.json")
    def policy_json() -> Response:
        return jsonify(privacy.policy.to_dict())

    @bp.errorhandler(InvalidRequest)
    def invalid_request(error: InvalidRequest) -> Any:
        if (
            request.accept_mimetypes.best == "application/json"
            or request.is_json
            or request.path.endswith(".json")
        ):
            return jsonify(error="bad_request", message=error.description), 400
        return error

    return bp
