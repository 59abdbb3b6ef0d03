"""HTTP plumbing shared by the views: reading a body, JSON or HTML, safe redirects,
and the one place where domain errors become HTTP answers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.routing import BuildError

from ..capture.hooks import client_ip
from ..errors import InvalidRequest, NotAllowed, NotFound, PrivacyError, RateLimited, SignInRequired, TokenError
from ..policy import i18n
from ..policy.render import template_variables

if TYPE_CHECKING:
    from ..services import Services

__all__ = [
    "STATUS",
    "check_language",
    "client_address",
    "json_body",
    "maybe_url",
    "no_store",
    "officer_guard",
    "register_error_handlers",
    "render_page",
    "request_fields",
    "safe_next",
    "wants_json",
]

F = TypeVar("F", bound=Callable[..., Any])

# Domain error -> HTTP status; anything else of ours is a 500 (a bug).
STATUS: dict[type[PrivacyError], int] = {
    InvalidRequest: 400,
    TokenError: 400,
    SignInRequired: 401,
    NotAllowed: 403,
    NotFound: 404,
    RateLimited: 429,
}


def wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def json_body() -> Any:
    """The JSON body, ``None`` if it is not valid JSON; a body nested too deeply for
    the parser is bad input (400), not a crash."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise InvalidRequest("the JSON body is nested too deeply") from None


def request_fields(*, multi: bool = False) -> dict[str, Any]:
    """The fields of a JSON object body or a form, as a dict (``{}`` for anything
    else); with ``multi``, form fields are lists (checkboxes)."""
    if request.is_json:
        body = json_body()
        return body if isinstance(body, dict) else {}
    return {k: v for k, v in request.form.lists()} if multi else dict(request.form.items())


def safe_next(target: str | None) -> str | None:
    """A same-site path to go back to after a form (a consent banner), else None.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    a slash, a tab and ``/evil.example`` would lead off-site: any control character,
    space or backslash, and anything but a single leading slash, is refused.
    """
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c == "\\" for c in target):
        return None
    return target


def client_address(trusted_proxies: int) -> str | None:
    """The client's IP, through the trusted proxy hops (as capture records it)."""
    environ = request.environ
    forwarded = environ.get("HTTP_X_FORWARDED_FOR") if trusted_proxies > 0 else None
    return client_ip(environ.get("REMOTE_ADDR"), forwarded, trusted_proxies)


def check_language(languages: tuple[str, ...]) -> None:
    """Refuse an unknown ``?lang=`` before a view changes anything."""
    lang = request.args.get("lang")
    if lang is not None and lang not in languages:
        raise InvalidRequest(f"unknown language {lang!r}; this policy is available in: {', '.join(languages)}")


# Pages that show no one's personal data may be cached; every other answer of the
# blueprint (exports, requests, officer pages, forms with a CSRF token) may not.
CACHEABLE_ENDPOINTS = frozenset({"privacy.policy_page", "privacy.policy_json"})


def no_store(response: Response) -> Response:
    if request.endpoint not in CACHEABLE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


def render_page(template: str, lang: str, /, **context: Any) -> str:
    """One of the extension's pages in ``lang``: every variable as ``privacy_<name>``
    (``template_variables``), with ``privacy_lang`` and ``privacy_ui(key)``."""
    variables = {"lang": lang, "ui": lambda key: i18n.ui(key, lang), **context}
    return render_template(template, **template_variables(variables))


def maybe_url(endpoint: str, **values: Any) -> str | None:
    """The URL of an endpoint a host may not have registered, else None."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _status(error: PrivacyError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def register_error_handlers(bp: Blueprint) -> None:
    """JSON clients get ``{"error", "message"}``; browsers the usual error page."""

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if wants_json() or request.path.endswith(".json"):
            code = error.code or 500
            name = (error.name or "error").lower().replace(" ", "_")
            return jsonify(error=name, message=error.description), code
        return error

    @bp.errorhandler(PrivacyError)
    def privacy_error(error: PrivacyError) -> Any:
        code = _status(error)
        if code == 500:
            raise error
        # The same answer werkzeug's own HTTP error would give, so hosts see no difference.
        return http_error(default_exceptions[code](description=error.message))


def officer_guard(services: Services, check_csrf: Callable[[], None]) -> Callable[[F], F]:
    """The decorator of every officer page (web/officer_views.py, web/audit_views.py):
    open only to whom ``@privacy.officer_loader`` names, and a POST carries the CSRF token."""

    def officer_only(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not services.is_officer():
                raise NotAllowed("the officer pages are open only to the privacy officer")
            if request.method == "POST":
                check_csrf()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return officer_only
