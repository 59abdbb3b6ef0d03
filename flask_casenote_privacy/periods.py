"""Calendar retention arithmetic in the policy's time zone.

Retention periods are calendar periods ("3 months", "5 years"), not a number of
days: a record made on 2026-11-30 under ``P3M`` expires on 2027-02-28 in Seoul.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from .errors import PeriodError

__all__ = ["Period", "PeriodError", "add_period", "parse_period", "to_zone", "zone"]

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_FIELDS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")


@dataclass(frozen=True)
class Period:
    """An ISO-8601 calendar duration such as ``P3M`` or ``P5Y``.

    >>> Period.parse("P1Y6M").delta
    relativedelta(years=+1, months=+6)
    """

    iso: str
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        return parse_period(text)

    @property
    def delta(self) -> relativedelta:
        return relativedelta(
            years=self.years,
            months=self.months,
            weeks=self.weeks,
            days=self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
        )

    def parts(self) -> list[tuple[str, int]]:
        """The non-zero fields in order, e.g. ``[("years", 1), ("months", 6)]``."""
        return [(name, getattr(self, name)) for name in _FIELDS if getattr(self, name)]

    def __str__(self) -> str:
        return self.iso


def parse_period(text: str) -> Period:
    """Parse an ISO-8601 duration (``PnYnMnWnDTnHnMnS``, integers only).

    Raises :class:`PeriodError` for anything else, including a zero duration,
    which as a retention period would mean "destroy at once" by accident.
    """
    if not isinstance(text, str):
        raise PeriodError(f"a duration must be a string such as 'P3M', not {text!r}")
    match = _DURATION.match(text.strip().upper())
    if match is None:
        raise PeriodError(
            f"{text!r} is not an ISO-8601 duration (examples: 'P3M' for three months, "
            "'P5Y' for five years, 'P10D' for ten days)"
        )
    values = {name: int(value) for name, value in match.groupdict().items() if value}
    if not any(values.values()):
        raise PeriodError(f"{text!r} is a zero duration; a retention period must be positive")
    return Period(iso=text.strip().upper(), **values)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, with an error that says what is wrong."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PeriodError(f"{name!r} is not a known IANA time zone (e.g. 'Asia/Seoul')") from exc


def to_zone(instant: datetime, tz: ZoneInfo) -> datetime:
    """``instant`` seen on the wall clock of ``tz``; naive datetimes are taken as UTC."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(tz)


def add_period(instant: datetime, period: Period, tz: ZoneInfo) -> datetime:
    """``instant + period`` counted on the calendar of ``tz``.

    Month and year steps land on the same day of the month, clamped to the
    month's last day (2026-11-30 + P3M = 2027-02-28; 2024-02-29 + P1Y =
    2025-02-28). The result carries ``tz``'s offset.

    >>> from datetime import datetime
    >>> seoul = zone("Asia/Seoul")
    >>> add_period(datetime(2026, 11, 30, 3, 0), parse_period("P3M"), seoul).isoformat()
    '2027-02-28T12:00:00+09:00'
    """
    local = to_zone(instant, tz)
    if not (period.hours or period.minutes or period.seconds):
        # Only calendar parts: the wall-clock time of day is kept and the date
        # moves by the cached calendar step (what relativedelta does, per date).
        start = local.date()
        day = _calendar_step(period.years, period.months, period.weeks, period.days, start)
        # The same wall-clock time on that day, fold 0 (what datetime(...) would make;
        # a datetime and a timedelta add in wall-clock time, without the zone).
        return local + (day - start)
    # relativedelta works on wall-clock fields; re-resolving the offset keeps
    # the answer right in zones with daylight-saving time.
    result = (local.replace(tzinfo=None) + period.delta).replace(tzinfo=tz)
    return result.astimezone(tz)


@lru_cache(maxsize=4096)
def _calendar_step(years: int, months: int, weeks: int, days: int, start: date) -> date:
    """``start`` plus a calendar period without a time part (month ends clamped)."""
    moved: date = start + relativedelta(years=years, months=months)
    return moved + timedelta(weeks=weeks, days=days)
