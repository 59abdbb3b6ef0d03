"""Capture's event ids: 32 characters, unique, never nine decimal digits in a row."""

from __future__ import annotations

import itertools
import re

import pytest

from flask_casenote_privacy.capture.hooks import _EventIds

SHAPE = re.compile(r"[0-9a-f]{8}a[0-9a-f]{8}b[0-9a-f]{8}c[0-9a-f]{5}")


def _text(value: int) -> str:
    """The id of a 116-bit value, written out plainly."""
    digits = f"{value:029x}"
    return f"{digits[:8]}a{digits[8:16]}b{digits[16:24]}c{digits[24:]}"


@pytest.mark.parametrize("start", [0, (1 << 20) - 3, (7 << 52) - 2, (1 << 84) - 1, (1 << 116) - 3])
def test_ids_count_up_from_the_start_across_every_group_and_the_wrap(start: int) -> None:
    ids = _EventIds()
    ids._state = (start, itertools.count())
    for n in range(6):
        got = ids.next()
        assert SHAPE.fullmatch(got)
        assert got == _text((start + n) % (1 << 116))


def test_a_reseeded_process_draws_new_ids() -> None:
    ids = _EventIds()
    first = {ids.next() for _ in range(1000)}
    ids.reseed()
    again = {ids.next() for _ in range(1000)}
    assert len(first) == len(again) == 1000
    assert not first & again
    assert not any(re.search("[0-9]{9}", i) for i in first | again)
