"""The subject-rights settings that are more than one value: the withdrawal-link
rate limits (``PRIVACY_LINK_LIMITS``) and what the monthly review of operator
access records flags (``PRIVACY_ACCESS_REVIEW``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = ["ACCESS_REVIEW_DEFAULTS", "AccessReview", "LinkLimits", "access_review", "link_limits"]

#: The default of ``PRIVACY_ACCESS_REVIEW`` (``flask privacy audit access``).
ACCESS_REVIEW_DEFAULTS: dict[str, Any] = {
    "working_hours": "09:00-19:00",
    "working_days": "mon-fri",
    "exports_per_day": 10,
    "subjects_per_day": 50,
}


@dataclass(frozen=True)
class LinkLimits:
    """(at most N, per S seconds) for the withdrawal-link route."""

    per_address: tuple[int, int]
    per_client: tuple[int, int]


_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _rate(key: str, text: object) -> tuple[int, int]:
    """``"3/hour"`` -> ``(3, 3600)``."""
    count, _, unit = str(text).partition("/")
    if not count.strip().isdigit() or int(count) < 1 or unit.strip() not in _UNITS:
        raise ConfigurationError(key, f"{text!r} must read like '3/hour' (units: {', '.join(_UNITS)})")
    return int(count), _UNITS[unit.strip()]


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class AccessReview:
    """What the monthly review flags: access outside ``hours`` (start, end minutes of
    the day) or ``days`` (0 = Monday), more than ``exports_per_day`` exports or
    ``subjects_per_day`` members' data seen by one operator in a day."""

    hours: tuple[int, int]
    days: frozenset[int]
    exports_per_day: int
    subjects_per_day: int


def access_review(raw: object) -> AccessReview:
    """``PRIVACY_ACCESS_REVIEW`` checked: every problem in one error naming the key."""
    key, problems = "PRIVACY_ACCESS_REVIEW", []
    data = dict(ACCESS_REVIEW_DEFAULTS) | (raw if isinstance(raw, dict) else {})
    hours = str(data["working_hours"]).split("-")
    try:
        start, end = (int(h.split(":")[0]) * 60 + int(h.split(":")[1]) for h in hours)
        if len(hours) != 2 or not 0 <= start < end <= 24 * 60:
            raise ValueError
    except (ValueError, IndexError):
        problems.append(f"working_hours {data['working_hours']!r} must read like '09:00-19:00'")
        start, end = 0, 0
    first, _, last = str(data["working_days"]).partition("-")
    if first not in _DAYS or (last or first) not in _DAYS:
        problems.append(f"working_days {data['working_days']!r} must read like 'mon-fri'")
        first = last = "mon"
    days = frozenset(range(_DAYS.index(first), _DAYS.index(last or first) + 1))
    for name in ("exports_per_day", "subjects_per_day"):
        if not isinstance(data[name], int) or isinstance(data[name], bool) or data[name] < 1:
            problems.append(f"{name} {data[name]!r} must be a whole number, 1 or more")
    if not isinstance(raw, dict):
        problems.append("must be a dict")
    else:
        problems += [f"unknown key {u!r}" for u in sorted(set(raw) - set(ACCESS_REVIEW_DEFAULTS))]
    if problems:
        raise ConfigurationError(key, "; ".join(problems))
    return AccessReview((start, end), days, data["exports_per_day"], data["subjects_per_day"])


def link_limits(raw: object) -> LinkLimits:
    """``PRIVACY_LINK_LIMITS`` checked."""
    key = "PRIVACY_LINK_LIMITS"
    if not isinstance(raw, dict) or set(raw) != {"per_address", "per_client"}:
        raise ConfigurationError(key, 'must be {"per_address": "3/hour", "per_client": "20/hour"}')
    return LinkLimits(_rate(key, raw["per_address"]), _rate(key, raw["per_client"]))
