"""Which legal clause lets a private company refuse which kind of request.

PIPA gives each right its own grounds: access (열람) only §35④, deletion (삭제)
only §36①'s proviso (another law names the data), correction (정정) only §36②'s
exception (another law sets a special procedure), processing stop and consent
withdrawal (처리정지·동의철회) §37②. A policy file's ``[[refusal_grounds]]`` name
their ``kinds`` and their ``clause``; the loader checks the one against the other.
The clauses for public bodies only (§35④3, §37②3) are left out on purpose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Policy

__all__ = ["CLAUSES", "GROUND_KINDS", "LEGACY_KINDS", "clause_label", "clause_problems", "ground_warnings"]

#: Request kinds a ground may be declared for.
GROUND_KINDS = ("withdraw", "stop", "access", "delete", "correct")

#: Kinds of a ground declared the old way (no ``kinds``): §37② only ever covered these.
LEGACY_KINDS = ("stop", "withdraw")

#: clause id -> (the kinds it lets a private company refuse, how to cite it).
CLAUSES: dict[str, tuple[frozenset[str], dict[str, str]]] = {
    # PIPA §35④1: a law forbids or limits the access.
    "35-4-1": (frozenset({"access"}), {"ko": "개인정보 보호법 제35조 제4항 제1호", "en": "PIPA Art. 35(4)1"}),
    # PIPA §35④2: access may harm another's life or body, or unjustly infringe their property or interests.
    "35-4-2": (frozenset({"access"}), {"ko": "개인정보 보호법 제35조 제4항 제2호", "en": "PIPA Art. 35(4)2"}),
    # PIPA §36① proviso: another law names the data as data to be collected (kept, not refused at will).
    "36-1": (frozenset({"delete"}), {"ko": "개인정보 보호법 제36조 제1항 단서", "en": "PIPA Art. 36(1) proviso"}),
    # PIPA §36②: a correction is made "unless another law sets a special procedure for it".
    "36-2": (frozenset({"correct"}), {"ko": "개인정보 보호법 제36조 제2항", "en": "PIPA Art. 36(2)"}),
    # PIPA §37②1, 2, 4: special provision of law / legal obligation; harm to others; contract impossible.
    "37-2-1": (
        frozenset({"stop", "withdraw"}),
        {"ko": "개인정보 보호법 제37조 제2항 제1호", "en": "PIPA Art. 37(2)1"},
    ),
    "37-2-2": (
        frozenset({"stop", "withdraw"}),
        {"ko": "개인정보 보호법 제37조 제2항 제2호", "en": "PIPA Art. 37(2)2"},
    ),
    "37-2-4": (
        frozenset({"stop", "withdraw"}),
        {"ko": "개인정보 보호법 제37조 제2항 제4호", "en": "PIPA Art. 37(2)4"},
    ),
}


def clause_label(clause: str, lang: str = "ko") -> str:
    return CLAUSES[clause][1].get(lang, CLAUSES[clause][1]["en"])


def clause_problems(kinds: tuple[str, ...], clause: str | None) -> list[str]:
    """What is wrong with a ground declared for ``kinds`` on ``clause`` (pure)."""
    problems = []
    unknown = [k for k in kinds if k not in GROUND_KINDS]
    if unknown:
        problems.append(f"unknown kind(s) {', '.join(map(repr, unknown))} (one of {', '.join(GROUND_KINDS)})")
    if clause is None:
        return [*problems, "give the clause the ground rests on: 'clause' (one of " + ", ".join(CLAUSES) + ")"]
    if clause not in CLAUSES:
        return [*problems, f"clause {clause!r} is not one of {', '.join(CLAUSES)}"]
    allowed = CLAUSES[clause][0]
    wrong = [k for k in kinds if k in GROUND_KINDS and k not in allowed]
    if wrong:
        problems.append(
            f"{clause_label(clause, 'en')} is no ground to refuse a {'/'.join(wrong)} request; "
            f"it covers {'/'.join(sorted(allowed))} only"
        )
    return problems


def ground_warnings(policy: Policy) -> list[str]:
    """Advice about a valid policy's grounds (``flask privacy policy check`` prints it)."""
    warnings = []
    legacy = [g.id for g in policy.refusal_grounds if g.clause is None]
    if legacy:
        warnings.append(
            f"refusal_grounds ({', '.join(legacy)}): no 'kinds' and 'clause'; read as grounds to refuse a "
            "processing stop or consent withdrawal (PIPA Art. 37(2)) only. Declare each ground's kinds and "
            'clause (e.g. kinds = ["stop", "withdraw"], clause = "37-2-1"); access has its own grounds '
            '(clause "35-4-1", "35-4-2"), deletion only "36-1" (docs/policy-file.md)'
        )
    if not policy.grounds_for("access"):
        warnings.append(
            "refusal_grounds: none for 'access'; the officer cannot refuse or limit an access request "
            '(PIPA Art. 35(4): clause "35-4-1", "35-4-2")'
        )
    return warnings
