"""Flask-Login, out of the box: ``privacy.use_flask_login()`` (or ``init(privacy)``).

It does the two things every Flask-Login host needs:

1. registers the subject loader, ``current_user.get_id()`` for a signed-in user
   (the extension asks it once per request, before anything is erased);
2. signs the member out (``logout_user()``) when they have just left
   (:data:`~flask_casenote_privacy.signals.member_withdrawn`), so the browser that
   left is not kept signed in as a user whose row is gone, and "remember me" cannot
   sign it in again as whoever the host later gives the same id.

Flask-Login stays optional: it is imported here, when the integration is used.
"""

from __future__ import annotations

import weakref
from typing import Any

from flask import Flask, current_app, has_request_context, request, session

from ..signals import member_withdrawn

try:
    import flask_login
except ImportError as exc:  # pragma: no cover - exercised without Flask-Login installed
    raise ImportError(
        "privacy.use_flask_login() needs Flask-Login: pip install flask-login (or register your own "
        "@privacy.subject_loader)"
    ) from exc

__all__ = ["init"]

# The Privacy objects using this integration (an app factory may call init again).
_integrated: weakref.WeakSet[Any] = weakref.WeakSet()


def init(privacy: Any) -> None:
    """Use Flask-Login's signed-in user as the data subject, and sign a member out
    once they have left. Safe to call again (an app factory calls it per app)."""
    privacy.subject_loader(subject)
    _integrated.add(privacy)
    # A module-level receiver, so blinker's weak reference to it never dies;
    # connecting it again is a no-op.
    member_withdrawn.connect(_sign_out)


def subject() -> str | None:
    """The signed-in user's id (``UserMixin.get_id()``), ``None`` when anonymous."""
    if not hasattr(current_app, "login_manager"):
        raise RuntimeError(
            "privacy.use_flask_login(): this app has no Flask-Login LoginManager (LoginManager(app) or "
            "login_manager.init_app(app))"
        )
    user = flask_login.current_user
    return user.get_id() if user.is_authenticated else None


def _sign_out(app: Flask, *, subject: str, **_: Any) -> None:
    if not has_request_context() or app.extensions.get("privacy") not in _integrated:
        return  # the CLI, or an app that signs its members out by itself
    if _signed_in_as(app, subject):
        flask_login.logout_user()


def _signed_in_as(app: Flask, subject: str) -> bool:
    """Whether this browser is signed in as ``subject``, read from Flask-Login's own
    session key and "remember me" cookie: never from the user object, which may be
    detached from its deleted row by now. False on the officer's page (another id)."""
    user_id = session.get("_user_id")  # Flask-Login's key since 0.4
    if user_id is not None and str(user_id) == subject:
        return True
    cookie = request.cookies.get(app.config.get("REMEMBER_COOKIE_NAME", flask_login.COOKIE_NAME))
    return cookie is not None and flask_login.decode_cookie(cookie) == subject
