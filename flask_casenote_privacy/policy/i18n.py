"""Words of the user interface in the policy's languages (Korean first, English).

Texts of the policy itself come from the policy file; these are the labels and
connecting phrases around them.
"""

from __future__ import annotations

import re

from ..periods import Period
from .words.member import MEMBER_PAGES
from .words.officer import OFFICER_PAGES
from .words.policy import POLICY_PAGE

__all__ = ["basis_label", "josa", "kind_label", "period_label", "ui"]

#: Every page's words by key (a key belongs to one page: policy/words/).
_UI: dict[str, dict[str, str]] = {**POLICY_PAGE, **MEMBER_PAGES, **OFFICER_PAGES}


def ui(key: str, lang: str) -> str:
    """A UI phrase in ``lang`` (English when the language has no translation)."""
    texts = _UI[key]
    return texts.get(lang) or texts["en"]


def basis_label(basis: str, lang: str) -> str:
    return ui(f"basis.{basis}", lang)


def kind_label(kind: str, lang: str) -> str:
    return ui(f"recipient_kind.{kind}", lang)


def period_label(period: Period | None, lang: str) -> str:
    """``P5Y`` -> "5년" / "5 years"; ``None`` -> until withdrawal."""
    if period is None:
        return ui("until_withdrawal", lang)
    if lang == "ko":
        return " ".join(f"{n}{ui(f'unit.{unit}', 'ko')}" for unit, n in period.parts())
    return ", ".join(f"{n} {ui(f'unit.{unit}', 'en')}{'' if n == 1 else 's'}" for unit, n in period.parts())


def josa(word: str, pair: str) -> str:
    """The Korean particle that fits after ``word``: ``josa("이름", "과/와")`` -> "과".

    ``pair`` is "after a final consonant/after a vowel" ("을/를", "이/가",
    "은/는", "과/와"); a word not ending in Hangul gets both, e.g. "을(를)".
    """
    with_batchim, without = pair.split("/")
    # The particle follows the word, not a trailing aside: "신용카드 결제 (결제대행)" -> "를".
    word = re.sub(r"\s*\([^()]*\)\s*$", "", word) or word
    last = word.rstrip()[-1:] or " "
    code = ord(last) - 0xAC00
    if not 0 <= code <= 11171:
        return f"{with_batchim}({without})"
    return with_batchim if code % 28 else without
