"""Request -> access event, with only what the policy and the visitor's consent allow.

Every request (but excluded paths) yields one event: the time, and each field
whose item an active purpose uses (for ``casenote``: IP, method, path without
the query string, status, duration and subject always; device information and
non-essential cookie identifiers only while an optional purpose is granted).
The event is logged as ``"http.access"`` and handed to the buffered writer.

This runs on every request: the consent decision is made once per request by
:class:`~.decision.Decider`, which keeps what only changes with the policy.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import structlog
from flask import Flask, Request, Response, g, request, session
from sqlalchemy.exc import SQLAlchemyError

from ..config.capture import access_events
from ..consent import Grant, ledger_grants, record_consent
from ..redact import PRE_REDACTED, describe_exception, redact_text
from ..services import Services
from .decision import SIGNED_IN_KEY, Decider, RequestPrivacy, cookie_grants, member_marker, signing_in
from .writer import AccessLogWriter

__all__ = ["Capture", "client_ip", "parse_device"]

# The extension's own routes whose path holds a secret: stored as the rule.
SECRET_ENDPOINTS = frozenset({"privacy.withdraw_confirm"})
# Methods kept as they are; any other (a client may send any token) is redacted.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
# The event's fields that capture computes itself (retention, ids, the normalised IP,
# numbers) or has redacted already (path, User-Agent, cookies, an unknown method):
# the logging processor need not visit them again. Not among them: the subject (the
# host's id, which may be an address) and the device families (ua-parser copies
# words of the User-Agent into them).
PRE_REDACTED_FIELDS = frozenset(
    {"retention", "retention_until", "event_id", "ip", "method", "path", "status", "duration_ms"}
    | {"user_agent", "cookies"}
)

access_logger = structlog.get_logger("flask_casenote_privacy.access")
log = logging.getLogger("flask_casenote_privacy.capture")


class _EventIds:
    """Event ids: 32 hex digits, unique without reading ``os.urandom`` per request.

    Each process draws a random 116-bit start (again after a fork: the extension's
    at-fork hook calls :meth:`reseed`) and counts up from it; ``next`` on an
    ``itertools.count`` is atomic. Two processes collide only if their starts
    land within the number of events of each other in 2**116. The 29 hex digits
    are written with an ``a``, ``b`` and ``c`` after the 8th, 16th and 24th,
    so an id never holds nine decimal digits in a row: the log's redaction
    never mistakes one for a phone or card number, and passes it cheaply.
    """

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        start = int.from_bytes(os.urandom(15), "big") >> 4  # 116 bits
        self._state: tuple[int, Iterator[int]] = (start, itertools.count())
        self._head: tuple[int, str] = (-1, "")  # the first 27 characters, for value >> 20

    def next(self) -> str:
        start, counter = self._state
        value = (start + next(counter)) & _MASK_116
        high, head = self._head  # one tuple, replaced whole: consistent across threads
        if high != value >> 20:  # once in 2**20 ids
            high = value >> 20
            head = f"{value >> 84:08x}a{(value >> 52) & _MASK_32:08x}b{high & _MASK_32:08x}c"
            self._head = (high, head)
        return head + "%05x" % (value & _MASK_20)  # cheaper than an f-string


_MASK_116 = (1 << 116) - 1
_MASK_32 = (1 << 32) - 1
_MASK_20 = (1 << 20) - 1


def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """The client's IP: ``remote_addr``, or the ``X-Forwarded-For`` entry that the
    ``trusted_proxies`` nearest hops vouch for. Anything unparsable is ignored."""
    ip = remote_addr
    if trusted_proxies > 0 and forwarded_for:
        hops = [part.strip() for part in forwarded_for.split(",")]
        if len(hops) >= trusted_proxies:
            ip = hops[-trusted_proxies]
    normal = _normal_ip(ip) if ip else None
    if normal is not None or ip == remote_addr:
        return normal
    return _normal_ip(remote_addr) if remote_addr else None


@lru_cache(maxsize=4096)
def _normal_ip(ip: str) -> str | None:
    """The canonical text of an IP address, ``None`` if ``ip`` is not one (cached:
    a server sees the same addresses again and again)."""
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def parse_device(user_agent: str) -> dict[str, str | None]:
    """Device, OS and browser families from a User-Agent (ua-parser, cached)."""
    device, os_family, browser = _device(user_agent[:512])
    return {"device_family": device, "os_family": os_family, "browser_family": browser}


@lru_cache(maxsize=2048)
def _device(user_agent: str) -> tuple[str | None, str | None, str | None]:
    from ua_parser import parse

    result = parse(user_agent)
    return (
        result.device.family if result.device else None,
        result.os.family if result.os else None,
        result.user_agent.family if result.user_agent else None,
    )


class Capture:
    """Hooks one app's requests; see the module docstring."""

    def __init__(self, services: Services, writer: AccessLogWriter, app: Flask) -> None:
        self.services = services
        self.writer = writer
        decider = Decider(services)
        self._decide, self._decide_for = decider.decide, decider.decide_for
        self._event_ids = _EventIds()
        config = app.config
        self.excluded = tuple(config["PRIVACY_CAPTURE_EXCLUDE"]) + (
            (app.static_url_path.rstrip("/") + "/",) if app.static_url_path else ()
        )
        self.query_params = frozenset(config["PRIVACY_CAPTURE_QUERY_PARAMS"])
        self.cookie_names = tuple(config["PRIVACY_CAPTURE_COOKIES"])
        self.secret_endpoints = SECRET_ENDPOINTS | frozenset(config["PRIVACY_CAPTURE_SECRET_ENDPOINTS"])
        self.trusted_proxies = services.settings.trusted_proxies
        events = access_events(config)
        self.log_access = events != "database"
        self.store_access = events != "log"
        self.session_cookie = config["SESSION_COOKIE_NAME"]

    def after_fork_in_child(self) -> None:
        # A forked child must not count from its parent's start: fresh event ids.
        self._event_ids.reseed()

    # -- hooks -----------------------------------------------------------------------
    def before_request(self) -> None:
        if self.excluded and request._get_current_object().path.startswith(self.excluded):  # type: ignore[attr-defined]
            return
        ctx_g = g._get_current_object().__dict__  # what g's own __setattr__ writes to
        ctx_g["_privacy_started"] = time.perf_counter()
        ctx_g["_privacy_at"] = self.services.now()
        ctx_g["_privacy_decide"] = self._decide  # lazily: the host's login may run after us

    def after_request(self, response: Response) -> Response:
        # Whatever fails here (the host's loader, the ledger, a bug of ours), the host's
        # response goes out unchanged: capture is logged, never the cause of a 500.
        try:
            self.capture(response)
        except Exception as exc:
            log.error(
                "privacy capture failed for this request (%s); the response is unchanged", describe_exception(exc)
            )
        return response

    def capture(self, response: Response) -> None:
        ctx_g = g._get_current_object().__dict__  # g's own get and pop are calls on this dict
        started = ctx_g.pop("_privacy_started", None)
        if started is None:
            return
        duration_ms = (time.perf_counter() - started) * 1000.0
        state: RequestPrivacy | None = ctx_g.get("_privacy_request")
        try:
            subject = self.services.current_identity()
        except Exception as exc:
            # Who is asking is unknown: log the event without a subject and with no
            # consent at all (fail closed; a consent cookie may not be this member's).
            log.error(
                "the request's subject could not be resolved after it (%s); its event has no subject",
                describe_exception(exc),
            )
            self.services.pin_subject(None)
            self.emit(self._decide(""), response.status_code, duration_ms)
            return
        if state is None or state.subject != subject:
            state = self._decide_for(subject)  # not decided yet in this request
        if subject is not None:
            self.note_member(subject, response)
        elif self.session_cookie in request.cookies and SIGNED_IN_KEY in session:
            session.pop(SIGNED_IN_KEY)  # signed out: the next sign-in carries a cookie again
        self.emit(state, response.status_code, duration_ms)

    def note_member(self, subject: str, response: Response) -> None:
        """At sign-in, carry the visitor's cookie choices into the ledger; afterwards,
        a consent cookie counts for nothing and is removed."""
        services = self.services
        cookie_name = services.consent_cookie.name
        if not signing_in(services, subject):
            if cookie_name in request.cookies:
                response.delete_cookie(cookie_name, path="/")
            return
        try:
            self.carry_cookie_into_ledger(subject, response)
        except SQLAlchemyError:
            log.warning("privacy ledger unreachable; the consent cookie is carried over later")
            return
        session[SIGNED_IN_KEY] = member_marker(services, subject)

    def carry_cookie_into_ledger(self, subject: str, response: Response) -> None:
        """An anonymous visitor's cookie choices become the signed-in subject's ledger
        events, except where the ledger holds a newer decision."""
        from_cookie = cookie_grants(self.services)
        if not from_cookie:
            return
        services = self.services
        ledger = {g.purpose: g for g in ledger_grants(services.databases.main, subject)}
        newer = {
            grant.purpose: grant.granted
            for grant in from_cookie
            if _known_consent_purpose(services, grant)
            and (grant.purpose not in ledger or ledger[grant.purpose].at < grant.at)
        }
        record_consent(services.databases.main, services.policy, subject, newer, channel="cookie", now=services.now())
        response.delete_cookie(services.consent_cookie.name, path="/")

    # -- the event -------------------------------------------------------------------
    def emit(self, state: RequestPrivacy, status: int, duration_ms: float) -> None:
        # The objects behind the proxies: each proxied attribute access costs.
        req = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        allowed = state.allowed_items
        purposes = state.purposes_sorted()
        at: datetime | None = g._get_current_object().__dict__.get("_privacy_at")
        # The fields capture computes itself or redacts here (PRE_REDACTED_FIELDS),
        # built once for the stored row and the logged event alike. Free text from the
        # client (path, User-Agent, cookie values, an unknown method) is redacted once:
        # neither the database nor a host chain without the privacy processors ever
        # holds an email or a card number.
        shared: dict[str, Any] = {"retention": state.retention, "event_id": self._event_ids.next()}
        if "ip_address" in allowed:
            forwarded = environ.get("HTTP_X_FORWARDED_FOR") if self.trusted_proxies > 0 else None
            shared["ip"] = client_ip(environ.get("REMOTE_ADDR"), forwarded, self.trusted_proxies)
        if "usage_record" in allowed:
            method = req.method[:16]
            shared["method"] = method if method in KNOWN_METHODS else redact_text(method)
            shared["path"] = redact_text(self.path(req)[:2048])
            shared["status"] = status
            shared["duration_ms"] = round(duration_ms, 3)
        device: dict[str, Any] = {}
        if "device_info" in allowed:
            agent = environ.get("HTTP_USER_AGENT", "")
            shared["user_agent"] = redact_text(agent[:512]) if agent else None
            if agent:  # not pre-redacted: ua-parser copies words of the User-Agent into these
                device["device_family"], device["os_family"], device["browser_family"] = _device(agent[:512])
        if "cookie" in allowed and self.cookie_names:
            cookies = req.cookies
            found = {n: cookies[n][:256] for n in self.cookie_names if n in cookies}
            shared["cookies"] = redact_text(json.dumps(found, sort_keys=True)) if found else None
        if self.log_access:
            until = state.retention_until
            until_text = until.isoformat() if until else None
            token = PRE_REDACTED.set({**shared, "retention_until": until_text})
            try:
                access_logger.info(
                    "http.access",
                    retention_until=until_text,
                    purposes=list(purposes),
                    subject=state.subject,
                    **shared,
                    **device,
                )
            finally:
                PRE_REDACTED.reset(token)
        if self.store_access:
            self.writer.submit(
                {
                    "occurred_at": at if at is not None else self.services.now(),
                    "expires_at": state.retention_until,
                    "subject": state.subject,
                    "purposes": ",".join(purposes),
                    **shared,
                    **device,
                }
            )

    def path(self, req: Request | None = None) -> str:
        """The path without its query string, but for allow-listed parameters; for a
        route whose path carries a secret (a withdrawal token), the route's rule."""
        if req is None:
            req = request._get_current_object()  # type: ignore[attr-defined]
        rule = req.url_rule
        if rule is not None and rule.endpoint in self.secret_endpoints:
            return str(rule.rule)  # e.g. /privacy/withdraw/confirm/<token>
        if not self.query_params or not req.args:
            return str(req.path)
        kept = [(k, v) for k, v in req.args.items(multi=True) if k in self.query_params]
        return f"{req.path}?{urlencode(kept)}" if kept else str(req.path)


def _known_consent_purpose(services: Services, grant: Grant) -> bool:
    purpose = services.policy.find_purpose(grant.purpose)
    return purpose is not None and purpose.needs_consent and purpose.fingerprint == grant.fingerprint
