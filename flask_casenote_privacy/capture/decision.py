"""What the extension decided for the current request: granted purposes, allowed
items, and the retention tag of everything logged while it runs.

Capture computes it once per request (``g``); the logging processors read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, g, has_app_context, has_request_context

__all__ = ["FIELD_ITEMS", "RequestPrivacy", "current_request_privacy", "default_allowed_items"]

# Which item of the policy each captured or logged field is. A field whose item
# no active purpose uses is neither stored nor logged. Hosts extend it with
# PRIVACY_LOG_FIELD_ITEMS.
FIELD_ITEMS: Mapping[str, str] = {
    "ip": "ip_address",
    "ip_address": "ip_address",
    "remote_addr": "ip_address",
    "method": "usage_record",
    "path": "usage_record",
    "status": "usage_record",
    "duration_ms": "usage_record",
    "user_agent": "device_info",
    "device_family": "device_info",
    "os_family": "device_info",
    "browser_family": "device_info",
    "cookies": "cookie",
    "cookie_ids": "cookie",
}


@dataclass(frozen=True)
class RequestPrivacy:
    """The privacy decisions for one request."""

    subject: str | None
    granted: frozenset[str]  # consent-based purposes granted and in force
    active_purposes: frozenset[str]  # granted + every purpose that needs no consent
    allowed_items: frozenset[str]  # items of the active purposes
    gpc: bool
    retention: str  # retention class of what this request logs (access_log)
    retention_until: datetime | None  # aware, in the policy's time zone
    field_items: Mapping[str, str] = field(default_factory=lambda: FIELD_ITEMS)
    # Derived from the fields above; capture passes them in from its caches.
    disallowed_fields: frozenset[str] | None = field(default=None, compare=False, repr=False)
    sorted_purposes: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def make(
        cls,
        *,
        subject: str | None,
        granted: frozenset[str],
        active_purposes: frozenset[str],
        allowed_items: frozenset[str],
        gpc: bool,
        retention: str,
        retention_until: datetime | None,
        field_items: Mapping[str, str],
        disallowed_fields: frozenset[str] | None = None,
        sorted_purposes: tuple[str, ...] | None = None,
    ) -> RequestPrivacy:
        """The same as the constructor, with every field given: capture makes one per
        request, and a frozen dataclass's ``__init__`` sets its fields one by one."""
        made = object.__new__(cls)
        made.__dict__.update(
            subject=subject,
            granted=granted,
            active_purposes=active_purposes,
            allowed_items=allowed_items,
            gpc=gpc,
            retention=retention,
            retention_until=retention_until,
            field_items=field_items,
            disallowed_fields=disallowed_fields,
            sorted_purposes=sorted_purposes,
        )
        return made

    def allows_field(self, name: str) -> bool:
        """Fields not mapped to an item (event names, ids, timings) are always allowed."""
        item = self.field_items.get(name)
        return item is None or item in self.allowed_items

    def unconsented_fields(self) -> frozenset[str]:
        """The mapped field names whose item is not allowed (what ``allows_field`` refuses)."""
        if self.disallowed_fields is not None:
            return self.disallowed_fields
        return disallowed_fields(self.field_items, self.allowed_items)

    def purposes_sorted(self) -> tuple[str, ...]:
        """The active purposes, sorted."""
        if self.sorted_purposes is not None:
            return self.sorted_purposes
        return tuple(sorted(self.active_purposes))


def disallowed_fields(field_items: Mapping[str, str], allowed_items: frozenset[str]) -> frozenset[str]:
    return frozenset(name for name, item in field_items.items() if item not in allowed_items)


def current_request_privacy() -> RequestPrivacy | None:
    """The decisions for the current request, or ``None`` outside a captured request."""
    if not has_request_context():
        return None
    ctx_g = g._get_current_object()  # cheaper than a g.get through the proxy each time
    state: RequestPrivacy | None = ctx_g.get("_privacy_request")
    if state is None:
        decide = ctx_g.get("_privacy_decide")  # set by capture; decided on first use
        if decide is not None:
            state = decide()
    return state


def default_allowed_items() -> frozenset[str] | None:
    """Outside a request no consent is known: only items of purposes that need no
    consent may be logged (fail closed). ``None`` without an app context."""
    if not has_app_context():
        return None
    privacy = current_app.extensions.get("privacy")
    if privacy is None:
        return None
    items: frozenset[str] = privacy.always_allowed_items
    return items
