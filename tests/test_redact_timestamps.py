"""ISO-8601 timestamps pass redaction untouched, without filling its cache."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flask_casenote_privacy.redact import _ISO_TIMESTAMP, _check_clean, _needs_nothing, redact_text


@given(st.text(alphabet="0123456789-T :.Z+@%\n", min_size=16, max_size=40))
def test_what_the_timestamp_shortcut_passes_needs_nothing(text: str) -> None:
    if _ISO_TIMESTAMP.fullmatch(text) is not None:
        assert _needs_nothing(text)
        assert redact_text(text) is text


def test_timestamps_are_not_remembered_as_clean() -> None:
    _check_clean.cache_clear()
    stamps = [f"2026-11-30T10:11:{n % 60:02d}.{n:06d}Z" for n in range(100)]
    stamps += ["2027-02-28T19:11:12.123456+09:00", "2026-11-30 10:11:12", "2026-11-30T10:11"]
    assert [redact_text(s) for s in stamps] == stamps
    assert _check_clean.cache_info().currsize == 0
    assert redact_text("2026-11-30T10:11:12 kim@example.com") == "2026-11-30T10:11:12 [email]"
