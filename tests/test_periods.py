"""Calendar retention arithmetic: ISO-8601 durations counted on the policy's calendar."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_casenote_privacy.periods import Period, PeriodError, add_period, parse_period, to_zone, zone

SEOUL = zone("Asia/Seoul")
KST = timezone(timedelta(hours=9))


def kst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)  # type: ignore[misc]


# -- parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("P3M", {"months": 3}),
        ("P5Y", {"years": 5}),
        ("P6M", {"months": 6}),
        ("P1Y6M", {"years": 1, "months": 6}),
        ("P2W", {"weeks": 2}),
        ("P10D", {"days": 10}),
        ("PT12H", {"hours": 12}),
        ("P1DT2H3M4S", {"days": 1, "hours": 2, "minutes": 3, "seconds": 4}),
    ],
)
def test_parse_period_reads_each_iso_field(text: str, fields: dict[str, int]) -> None:
    period = parse_period(text)
    assert period.iso == text
    assert dict(period.parts()) == fields


def test_months_and_minutes_are_told_apart_by_the_time_designator() -> None:
    assert parse_period("P1M").parts() == [("months", 1)]
    assert parse_period("PT1M").parts() == [("minutes", 1)]


def test_parse_period_normalises_case_and_surrounding_space() -> None:
    period = parse_period(" p3m ")
    assert period.iso == "P3M"
    assert period.months == 3


def test_period_delta_is_a_calendar_relativedelta() -> None:
    delta = Period.parse("P1Y6M").delta
    assert (delta.years, delta.months, delta.days) == (1, 6, 0)


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "3M", "P3", "P-3M", "-P3M", "P1.5Y", "P3MT", "P3M2Y", "three months", "P3M junk"],
)
def test_malformed_duration_is_rejected_with_examples_of_valid_ones(text: str) -> None:
    with pytest.raises(PeriodError) as excinfo:
        parse_period(text)
    message = str(excinfo.value)
    assert repr(text) in message
    assert "ISO-8601" in message
    assert "'P3M'" in message


@pytest.mark.parametrize("text", ["P0M", "P0Y0M", "PT0S", "P0D"])
def test_zero_duration_is_rejected_because_it_would_destroy_at_once(text: str) -> None:
    with pytest.raises(PeriodError, match="zero duration"):
        parse_period(text)


@pytest.mark.parametrize("value", [3, None, 3.0, ["P3M"]])
def test_non_string_duration_is_rejected_naming_the_value(value: object) -> None:
    with pytest.raises(PeriodError, match="must be a string") as excinfo:
        parse_period(value)  # type: ignore[arg-type]
    assert repr(value) in str(excinfo.value)


def test_period_error_is_a_value_error() -> None:
    assert issubclass(PeriodError, ValueError)


def test_unknown_time_zone_is_a_period_error_naming_it() -> None:
    with pytest.raises(PeriodError, match="'Mars/Olympus' is not a known IANA time zone"):
        zone("Mars/Olympus")
    with pytest.raises(PeriodError):
        zone("")


# -- calendar arithmetic: the examples the policy relies on ---------------------


def test_three_months_from_november_30th_ends_on_february_28th() -> None:
    result = add_period(kst(2026, 11, 30, 12), parse_period("P3M"), SEOUL)
    assert result.isoformat() == "2027-02-28T12:00:00+09:00"


def test_three_months_lasts_as_long_as_the_three_calendar_months() -> None:
    start = kst(2026, 6, 1, 12)
    result = add_period(start, parse_period("P3M"), SEOUL)
    assert result.isoformat() == "2026-09-01T12:00:00+09:00"
    assert result - start == timedelta(days=92)  # June 30 + July 31 + August 31, not 90


def test_one_year_from_a_leap_day_ends_on_february_28th() -> None:
    result = add_period(kst(2024, 2, 29), parse_period("P1Y"), SEOUL)
    assert result.isoformat() == "2025-02-28T00:00:00+09:00"


def test_four_years_from_a_leap_day_keeps_the_leap_day() -> None:
    result = add_period(kst(2024, 2, 29), parse_period("P4Y"), SEOUL)
    assert result.isoformat() == "2028-02-29T00:00:00+09:00"


def test_five_years_for_payment_records() -> None:
    result = add_period(kst(2026, 11, 28, 9, 30), parse_period("P5Y"), SEOUL)
    assert result.isoformat() == "2031-11-28T09:30:00+09:00"


def test_utc_instant_late_on_november_30th_is_already_december_1st_in_seoul() -> None:
    start = datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)  # 2026-12-01 05:00 KST
    result = add_period(start, parse_period("P3M"), SEOUL)
    assert result.isoformat() == "2027-03-01T05:00:00+09:00"
    # Counted in UTC, the same instant would have expired on February 28th.
    assert add_period(start, parse_period("P3M"), zone("UTC")).date().isoformat() == "2027-02-28"


def test_naive_start_is_taken_as_utc() -> None:
    naive = add_period(datetime(2026, 11, 30, 20, 0), parse_period("P3M"), SEOUL)
    aware = add_period(datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc), parse_period("P3M"), SEOUL)
    assert naive == aware
    assert naive.isoformat() == "2027-03-01T05:00:00+09:00"


def test_to_zone_shows_the_instant_on_the_local_wall_clock() -> None:
    local = to_zone(datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc), SEOUL)
    assert local.isoformat() == "2026-12-01T05:00:00+09:00"


def test_day_and_hour_periods_are_exact_lengths_in_seoul() -> None:
    start = kst(2026, 12, 31, 23, 30)
    assert add_period(start, parse_period("P10D"), SEOUL) - start == timedelta(days=10)
    assert add_period(start, parse_period("PT1H"), SEOUL).isoformat() == "2027-01-01T00:30:00+09:00"


def test_month_periods_keep_the_wall_clock_across_daylight_saving_time() -> None:
    new_york = zone("America/New_York")
    start = datetime(2026, 1, 15, 12, 0, tzinfo=new_york)  # EST, -05:00
    result = add_period(start, parse_period("P6M"), new_york)
    assert result.isoformat() == "2026-07-15T12:00:00-04:00"  # EDT, same wall time


def test_instant_order_is_not_preserved_across_a_clamped_month_end() -> None:
    # A real property of calendar months, pinned so nobody "fixes" it by accident:
    # a later start can expire earlier on the same (clamped) day.
    earlier = kst(2027, 1, 29, 12)
    later = kst(2027, 1, 30, 9)
    p1m = parse_period("P1M")
    assert add_period(earlier, p1m, SEOUL).isoformat() == "2027-02-28T12:00:00+09:00"
    assert add_period(later, p1m, SEOUL).isoformat() == "2027-02-28T09:00:00+09:00"


# -- properties ------------------------------------------------------------------

# Seoul has kept +09:00 without daylight saving time since 1988.
starts = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2200, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([SEOUL, timezone.utc, KST, timezone(timedelta(hours=-7))]),
)
periods = st.builds(
    lambda y, m, w, d, h, mi, s: Period(
        iso="generated", years=y, months=m, weeks=w, days=d, hours=h, minutes=mi, seconds=s
    ),
    st.integers(0, 10),
    st.integers(0, 30),
    st.integers(0, 10),
    st.integers(0, 60),
    st.integers(0, 48),
    st.integers(0, 120),
    st.integers(0, 120),
).filter(lambda p: p.parts())
months = st.integers(min_value=1, max_value=120)


def _month_index(moment: datetime) -> int:
    return moment.year * 12 + moment.month - 1


@given(starts, periods)
def test_result_is_always_after_the_start(start: datetime, period: Period) -> None:
    assert add_period(start, period, SEOUL) > start


@given(starts, periods)
def test_result_carries_the_seoul_offset(start: datetime, period: Period) -> None:
    result = add_period(start, period, SEOUL)
    assert result.tzinfo is SEOUL
    assert result.utcoffset() == timedelta(hours=9)
    assert result.isoformat().endswith("+09:00")


@given(starts, months)
def test_adding_months_lands_in_the_right_calendar_month(start: datetime, n: int) -> None:
    local = start.astimezone(SEOUL)
    result = add_period(start, parse_period(f"P{n}M"), SEOUL)
    assert _month_index(result) == _month_index(local) + n


@given(starts, months)
def test_adding_months_clamps_the_day_to_the_target_months_length(start: datetime, n: int) -> None:
    local = start.astimezone(SEOUL)
    result = add_period(start, parse_period(f"P{n}M"), SEOUL)
    days_in_target = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(local.day, days_in_target)
    assert result.time() == local.time()


@given(starts, st.integers(min_value=1, max_value=10))
def test_years_are_twelve_months(start: datetime, n: int) -> None:
    assert add_period(start, parse_period(f"P{n}Y"), SEOUL) == add_period(start, parse_period(f"P{12 * n}M"), SEOUL)


@given(starts)
def test_twelve_single_months_differ_from_one_year_only_by_clamping(start: datetime) -> None:
    p1m = parse_period("P1M")
    stepped = start
    for _ in range(12):
        stepped = add_period(stepped, p1m, SEOUL)
    at_once = add_period(start, parse_period("P12M"), SEOUL)
    # Same month and time of day; a step through a short month can only pull the day back.
    assert (stepped.year, stepped.month, stepped.time()) == (at_once.year, at_once.month, at_once.time())
    assert stepped.day <= at_once.day
    if start.astimezone(SEOUL).day <= 28:
        assert stepped == at_once


@given(starts, starts, months)
def test_expiry_date_is_monotonic_in_the_start_date(a: datetime, b: datetime, n: int) -> None:
    early, late = sorted([a, b])
    period = parse_period(f"P{n}M")
    assert add_period(early, period, SEOUL).date() <= add_period(late, period, SEOUL).date()


@given(starts, starts, periods)
def test_expiry_is_monotonic_in_the_start_instant_for_starts_at_the_same_time_of_day(
    a: datetime, b: datetime, period: Period
) -> None:
    b_same_time = datetime.combine(b.astimezone(SEOUL).date(), a.astimezone(SEOUL).timetz())
    early, late = sorted([a, b_same_time])
    assert add_period(early, period, SEOUL) <= add_period(late, period, SEOUL)


@given(starts, st.integers(0, 400), st.integers(0, 1000))
def test_fixed_length_periods_are_exact_and_order_preserving(start: datetime, days: int, hours: int) -> None:
    if not days and not hours:
        days = 1
    period = Period(iso="generated", days=days, hours=hours)
    result = add_period(start, period, SEOUL)
    assert result - start == timedelta(days=days, hours=hours)
    later = start + timedelta(minutes=1)
    assert add_period(later, period, SEOUL) > result


@pytest.mark.parametrize("name", ["Asia/Seoul", "America/New_York", "Europe/London", "Australia/Lord_Howe"])
@given(
    instant=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(timezone.utc)
    ),
    text=st.sampled_from(["P3M", "P1Y", "P6M", "P1Y2M3D", "P2W", "P10D", "P5Y"]),
)
def test_calendar_periods_keep_the_wall_clock_time_as_relativedelta_does(
    name: str, instant: datetime, text: str
) -> None:
    """The cached calendar step gives what relativedelta on the wall clock gives, to
    the microsecond, with the same offset and fold (DST zones, half-hour ones too)."""
    tz, period = zone(name), parse_period(text)
    local = instant.astimezone(tz)
    expected = (local.replace(tzinfo=None) + period.delta).replace(tzinfo=tz)
    got = add_period(instant, period, tz)
    assert (got.replace(tzinfo=None), got.tzinfo, got.fold) == (expected.replace(tzinfo=None), tz, expected.fold)
    assert got.isoformat() == expected.isoformat()
