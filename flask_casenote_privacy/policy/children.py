"""Children under 14 (개인정보 보호법 제22조의2): the policy's ``[children]`` rule, the
age check a sign-up runs against it, and what the policy page says about it.

Under 만 14세 the operator needs the legal representative's (법정대리인) consent and
must confirm it was given (§22-2①, 시행령 §17-2①); to ask for it, it may collect the
representative's name and contact from the child without that consent (§22-2②,
시행령 §17-2②); notices to a child use plain language (§22-2③).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta

from .model import Text
from .validation import ProblemCollector, is_placeholder

__all__ = [
    "AGE_CHECKS",
    "GUARDIAN_ITEMS",
    "GUARDIAN_METHODS",
    "LEGAL_MINIMUM_AGE",
    "AgeCheck",
    "Children",
    "children_context",
    "decide_age",
    "full_years",
    "parse_children",
]

LEGAL_MINIMUM_AGE = 14  # §22-2①: "만 14세 미만 아동"
ADULT_AGE = 19  # 민법 제4조: of age at 19; a higher minimum age is not a children's rule
# "confirmation": a "만 14세 이상입니다" box, no birth date collected;
# "birth_date": the birth date is asked (then it must be an item of the policy, collected at sign-up).
AGE_CHECKS = ("confirmation", "birth_date")
# What §22-2② and decree §17-2② let the operator collect to ask the representative.
GUARDIAN_ITEMS = ("guardian_name", "guardian_contact")
# How the representative's consent was confirmed: decree §17-2① 1-7.
GUARDIAN_METHODS = ("sms", "card", "mobile_identity", "written", "email", "phone", "other")


@dataclass(frozen=True)
class Children:
    """The ``[children]`` rule: below ``minimum_age`` (full years) a member joins only
    with a legal representative's consent, and only if ``guardian_consent`` is true."""

    minimum_age: int = LEGAL_MINIMUM_AGE
    guardian_consent: bool = False
    age_check: str = "confirmation"
    text: Text | None = None  # what the page adds, in the policy's words

    def to_dict(self) -> dict[str, Any]:
        return {
            "minimum_age": self.minimum_age,
            "guardian_consent": self.guardian_consent,
            "age_check": self.age_check,
            "text": None if self.text is None else self.text.to_dict(),
        }


def parse_children(reader: ProblemCollector, raw: Any, item_ids: dict[str, str]) -> Children | None:
    """The ``[children]`` table, every problem reported to ``reader``; ``item_ids`` maps
    the policy's item ids to their collection (``signup``, ``usage``, ``payment``)."""
    if raw is None:
        return None
    d = reader.table("children", raw, {"minimum_age", "guardian_consent", "age_check", "text"}, ["minimum_age"])
    age = d.get("minimum_age", LEGAL_MINIMUM_AGE)
    if is_placeholder(age):
        age = LEGAL_MINIMUM_AGE  # reported by the placeholder scan
    elif isinstance(age, bool) or not isinstance(age, int) or not LEGAL_MINIMUM_AGE <= age <= ADULT_AGE:
        reader.problem(
            "children.minimum_age",
            f"must be a whole number of years from {LEGAL_MINIMUM_AGE} (개인정보 보호법 제22조의2: under 14 "
            f"needs the legal representative's consent) to {ADULT_AGE} (of age), not {age!r}",
        )
        age = LEGAL_MINIMUM_AGE
    raw_guardian = d.get("guardian_consent", False)
    guardian = False if is_placeholder(raw_guardian) else reader.boolean("children.guardian_consent", raw_guardian)
    check = d.get("age_check", "confirmation")
    if not is_placeholder(check):
        check = reader.choice("children.age_check", check, AGE_CHECKS)
    if check == "birth_date" and item_ids.get("birth_date") != "signup":
        reader.problem(
            "children.age_check",
            '"birth_date" asks members their birth date: the policy must list an item "birth_date" '
            'collected at sign-up (collection = "signup"), or use age_check = "confirmation"',
        )
    if guardian:
        missing = [i for i in GUARDIAN_ITEMS if i not in item_ids]
        if missing:
            reader.problem(
                "children.guardian_consent",
                "accepting a legal representative's consent collects their name and contact "
                f"(개인정보 보호법 제22조의2 제2항): add the item(s) {', '.join(missing)}",
            )
    text = reader.optional_text("children.text", d.get("text")) if "text" in d else None
    return Children(minimum_age=age, guardian_consent=guardian, age_check=str(check), text=text)


def full_years(birth: date, today: date) -> int:
    """Age in full years (만 나이) on ``today``: born 2012-12-01, 14 on 2026-12-01, not before.

    Someone born on 29 February is a year older on 1 March of a common year: their year
    runs to the end of February (the later reading, and the safe one for a child).
    ``relativedelta`` alone would say 28 February."""
    years = relativedelta(today, birth).years
    if (birth.month, birth.day) == (2, 29) and (today.month, today.day) == (2, 28):
        years -= 1  # not yet: 29 February has no day in this year, the birthday is 1 March
    return years


@dataclass(frozen=True)
class AgeCheck:
    """What the age check decided for one sign-up.

    ``allowed``: may join on their own consent. ``guardian_required``: under the minimum
    age, and the policy accepts a legal representative's consent (record it with
    ``privacy.record_guardian_consent`` before the sign-up). Otherwise refused: show
    :meth:`message`.
    """

    allowed: bool
    guardian_required: bool
    minimum_age: int
    age: int | None = None  # full years, when a birth date was checked

    @property
    def refused(self) -> bool:
        return not self.allowed and not self.guardian_required

    def message(self, lang: str = "ko") -> str:
        """What to tell the person signing up, in plain words (§22-2③)."""
        n = self.minimum_age
        if self.allowed:
            return f"만 {n}세 이상입니다." if lang == "ko" else f"You are {n} or older."
        if self.guardian_required:
            if lang == "ko":
                return f"만 {n}세 미만은 부모님 등 법정대리인의 동의가 있어야 가입할 수 있습니다."
            return f"Under {n}, you can join only with the consent of a parent or other legal guardian."
        if lang == "ko":
            return f"만 {n}세 미만은 가입할 수 없습니다."
        return f"You must be {n} or older to join."


def decide_age(children: Children, today: date, *, birth_date: date | None, confirmed: bool | None) -> AgeCheck:
    """The age check of ``children`` on ``today``, from a birth date or an age confirmation."""
    age = None if birth_date is None else full_years(birth_date, today)
    old_enough = bool(confirmed) if birth_date is None else age is not None and age >= children.minimum_age
    return AgeCheck(
        allowed=old_enough,
        guardian_required=not old_enough and children.guardian_consent,
        minimum_age=children.minimum_age,
        age=age,
    )


def children_context(children: Children | None, lang: str, default_language: str) -> dict[str, Any] | None:
    """What the policy page says about children, or None when the policy has no rule."""
    if children is None:
        return None
    n = children.minimum_age
    if lang == "ko":
        title = f"만 {n}세 미만 아동의 개인정보"
        if children.guardian_consent:
            rule = (
                f"만 {n}세 미만 아동이 회원으로 가입하려면 법정대리인(부모님 등)의 동의가 필요합니다. "
                "회사는 동의를 받기 위하여 아동에게서 법정대리인의 이름과 연락처만 받으며, "
                "법정대리인이 동의하였는지 확인한 후에 가입을 완료합니다. "
                "확인한 방법과 일시를 기록하고, 동의하지 않으면 받은 정보를 지체 없이 파기합니다."
            )
        else:
            rule = f"회사는 만 {n}세 미만 아동의 회원가입을 받지 않으며, 그 개인정보를 수집하지 않습니다."
        how = (
            f"가입할 때 만 {n}세 이상인지 확인합니다."
            if children.age_check == "confirmation"
            else f"가입할 때 생년월일로 만 {n}세 이상인지 확인합니다."
        )
        basis = "개인정보 보호법 제22조의2"
    else:
        title = f"Children under {n}"
        if children.guardian_consent:
            rule = (
                f"A child under {n} can join only with the consent of a legal guardian (such as a parent). "
                "To ask for it, the Company takes only the guardian's name and contact from the child, "
                "and completes the sign-up once it has confirmed the guardian's consent. "
                "It records how and when consent was confirmed; without consent, what it took is destroyed "
                "without delay."
            )
        else:
            rule = f"The Company does not accept members under {n} and does not collect their personal information."
        how = (
            f"At sign-up we ask you to confirm you are {n} or older."
            if children.age_check == "confirmation"
            else f"At sign-up we check from your date of birth that you are {n} or older."
        )
        basis = "PIPA Art. 22-2"
    extra = "" if children.text is None else children.text.get(lang, default_language)
    return {
        "title": title,
        "rule": rule,
        "how": how,
        "basis": basis,
        "text": extra,
        "minimum_age": n,
        "guardian_consent": children.guardian_consent,
    }
