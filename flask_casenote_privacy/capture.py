"""Request -> access event, with only what the policy and the visitor's consent allow.

Every request (but excluded paths) yields one event: the time, and each field
whose item an active purpose uses (for ``casenote``: IP, method, path without
the query string, status, duration and subject always; device information and
non-essential cookie identifiers only while an optional purpose is granted).
The event is logged as ``"http.access"`` and handed to the buffered writer.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
import uuid
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import structlog
from flask import Flask, Response, g, request
from sqlalchemy.exc import SQLAlchemyError

from .consent import Grant, in_force, ledger_grants, record_consent
from .context import RequestPrivacy

if TYPE_CHECKING:
    from .extension import Privacy

__all__ = ["Capture", "client_ip", "decide_request", "parse_device"]

access_logger = structlog.get_logger("flask_casenote_privacy.access")
log = logging.getLogger("flask_casenote_privacy.capture")
_NOT_LOGGED = frozenset({"occurred_at", "expires_at", "retention", "purposes"})


def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """The client's IP: ``remote_addr``, or the ``X-Forwarded-For`` entry that the
    ``trusted_proxies`` nearest hops vouch for. Anything unparsable is ignored."""
    ip = remote_addr
    if trusted_proxies > 0 and forwarded_for:
        hops = [part.strip() for part in forwarded_for.split(",")]
        if len(hops) >= trusted_proxies:
            ip = hops[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        try:
            return str(ipaddress.ip_address(remote_addr)) if remote_addr else None
        except ValueError:
            return None


def parse_device(user_agent: str) -> dict[str, str | None]:
    """Device, OS and browser families from a User-Agent (ua-parser, cached)."""
    from ua_parser import parse

    result = parse(user_agent[:512])
    return {
        "device_family": result.device.family if result.device else None,
        "os_family": result.os.family if result.os else None,
        "browser_family": result.user_agent.family if result.user_agent else None,
    }


def request_time(privacy: Privacy) -> datetime:
    """When this request arrived (one instant for its event and its expiry)."""
    at: datetime | None = g.get("_privacy_at")
    return at if at is not None else privacy.now()


def cookie_grants(privacy: Privacy, value: str | None = None) -> list[Grant]:
    """The grants in the request's consent cookie (or in ``value``, a new one)."""
    cookie = privacy.consent_cookie
    return cookie.loads(value if value is not None else request.cookies.get(cookie.name))


def decide_request(privacy: Privacy, cookie_value: str | None = None) -> RequestPrivacy:
    """Consent for this request: the ledger (signed in) and the cookie, minus Sec-GPC.

    ``cookie_value`` stands for a consent cookie being set by this very request.
    """
    policy = privacy.policy
    gpc = request.headers.get("Sec-GPC", "").strip() == "1"
    subject = privacy.current_subject()
    grants = cookie_grants(privacy, cookie_value)
    if subject is not None:
        try:
            grants = _latest(ledger_grants(privacy.databases.main, subject), grants)
        except SQLAlchemyError:
            # The ledger is unreachable: serve the request, assume no consent (fail closed).
            log.warning("privacy ledger unreachable; treating the request as without consent")
            grants = []
    granted = in_force(policy, grants, gpc)
    retention = privacy.settings.capture_retention
    state = RequestPrivacy(
        subject=subject,
        granted=granted,
        active_purposes=granted | privacy.no_consent_purposes,
        allowed_items=privacy.items_of(granted) | privacy.always_allowed_items,
        gpc=gpc,
        retention=retention,
        retention_until=privacy.expires_at(retention, request_time(privacy)),
        field_items=privacy.field_items,
    )
    g._privacy_request = state
    return state


class Capture:
    """Hooks one app's requests; see the module docstring."""

    def __init__(self, privacy: Privacy, app: Flask) -> None:
        self.privacy = privacy
        config = app.config
        self.excluded = tuple(config["PRIVACY_CAPTURE_EXCLUDE"]) + (
            (app.static_url_path.rstrip("/") + "/",) if app.static_url_path else ()
        )
        self.query_params = frozenset(config["PRIVACY_CAPTURE_QUERY_PARAMS"])
        self.cookie_names = tuple(config["PRIVACY_CAPTURE_COOKIES"])
        self.trusted_proxies = int(config["PRIVACY_TRUSTED_PROXIES"])
        self.log_access = bool(config["PRIVACY_LOG_ACCESS"])

    # -- hooks -----------------------------------------------------------------------
    def excluded_path(self, path: str) -> bool:
        return path.startswith(self.excluded) if self.excluded else False

    def before_request(self) -> None:
        if self.excluded_path(request.path):
            return
        g._privacy_started = time.perf_counter()
        g._privacy_at = self.privacy.now()
        g._privacy_decide = partial(decide_request, self.privacy)  # lazily: the host's login may run after us

    def after_request(self, response: Response) -> Response:
        started = g.pop("_privacy_started", None)
        if started is None:
            return response
        duration_ms = (time.perf_counter() - started) * 1000.0
        state = g.get("_privacy_request")
        subject = self.privacy.current_subject()
        if state is None or state.subject != subject:
            state = decide_request(self.privacy)  # signed in or out during this request
        if subject is not None:
            try:
                self.carry_cookie_into_ledger(subject, response)
            except SQLAlchemyError:
                log.warning("privacy ledger unreachable; the consent cookie is carried over later")
        self.emit(state, response.status_code, duration_ms)
        return response

    def carry_cookie_into_ledger(self, subject: str, response: Response) -> None:
        """An anonymous visitor's cookie choices become the signed-in subject's ledger events."""
        from_cookie = cookie_grants(self.privacy)
        if not from_cookie:
            return
        privacy = self.privacy
        ledger = {g.purpose: g for g in ledger_grants(privacy.databases.main, subject)}
        newer = {
            grant.purpose: grant.granted
            for grant in from_cookie
            if _known_consent_purpose(privacy, grant)
            and (grant.purpose not in ledger or ledger[grant.purpose].at < grant.at)
        }
        record_consent(privacy.databases.main, privacy.policy, subject, newer, channel="cookie", now=privacy.now())
        response.delete_cookie(privacy.consent_cookie.name, path="/")

    # -- the event -------------------------------------------------------------------
    def emit(self, state: RequestPrivacy, status: int, duration_ms: float) -> None:
        privacy = self.privacy
        allowed = state.allowed_items
        row: dict[str, Any] = {
            "event_id": uuid.uuid4().hex,
            "occurred_at": request_time(self.privacy),
            "retention": state.retention,
            "expires_at": state.retention_until,
            "subject": state.subject,
            "purposes": ",".join(sorted(state.active_purposes)),
        }
        if "ip_address" in allowed:
            row["ip"] = client_ip(request.remote_addr, request.headers.get("X-Forwarded-For"), self.trusted_proxies)
        if "usage_record" in allowed:
            row["method"] = request.method[:16]
            row["path"] = self.path()[:2048]
            row["status"] = status
            row["duration_ms"] = round(duration_ms, 3)
        if "device_info" in allowed:
            agent = request.headers.get("User-Agent", "")
            row["user_agent"] = agent[:512] or None
            row.update(parse_device(agent) if agent else {})
        if "cookie" in allowed and self.cookie_names:
            found = {n: request.cookies[n][:256] for n in self.cookie_names if n in request.cookies}
            row["cookies"] = json.dumps(found, sort_keys=True) if found else None
        if self.log_access:
            fields = {k: v for k, v in row.items() if k not in _NOT_LOGGED}
            access_logger.info(
                "http.access",
                retention=state.retention,
                retention_until=state.retention_until.isoformat() if state.retention_until else None,
                purposes=sorted(state.active_purposes),
                **fields,
            )
        privacy.writer.submit(row)

    def path(self) -> str:
        """The path without its query string, but for allow-listed parameters."""
        if not self.query_params or not request.args:
            return request.path
        kept = [(k, v) for k, v in request.args.items(multi=True) if k in self.query_params]
        return f"{request.path}?{urlencode(kept)}" if kept else request.path


def _latest(*sources: list[Grant]) -> list[Grant]:
    """Per purpose, the most recent decision among several sources."""
    latest: dict[str, Grant] = {}
    for grants in sources:
        for grant in grants:
            if grant.purpose not in latest or latest[grant.purpose].at < grant.at:
                latest[grant.purpose] = grant
    return list(latest.values())


def _known_consent_purpose(privacy: Privacy, grant: Grant) -> bool:
    try:
        purpose = privacy.policy.purpose(grant.purpose)
    except KeyError:
        return False
    return purpose.needs_consent and purpose.fingerprint == grant.fingerprint
