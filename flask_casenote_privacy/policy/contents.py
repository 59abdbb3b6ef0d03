"""The mandatory contents of a privacy policy that are not about items, purposes or
retention: 개인정보 보호법 §30①5-6 and 시행령 §31① (what docs/korean-law.md,
"What a privacy policy must contain", confirms), as data and as policy-file sections.

- ``[rights]``: how data subjects and legal representatives exercise their rights (§30①5);
- ``[department]``: the department that receives requests, with its contact (§30①6);
- ``[safety]``: the company's own safety measures (안전성 확보조치, 시행령 §31①); the
  page adds what the extension itself does (:func:`extension_measures`);
- ``[[remedies]]``: where to seek remedy (권익침해 구제방법, the PIPC's writing guideline);
  the four public bodies are shipped as :data:`DEFAULT_REMEDIES` (public facts, not
  company facts), which a policy file may replace;
- a recipient's ``relationship`` (제3자 제공 §17 vs 처리위탁 §26) and ``overseas`` transfer
  (국외 이전 §28-8); an optional purpose's ``refusal_consequence`` (§15②4, §22).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..periods import Period
from .model import RECIPIENT_KINDS, Text
from .validation import ProblemCollector, is_placeholder

__all__ = [
    "DEFAULT_REMEDIES",
    "MANDATORY_SECTIONS",
    "RELATIONSHIPS",
    "ContentsReader",
    "Department",
    "Measure",
    "Overseas",
    "Remedy",
    "Rights",
    "Safety",
    "extension_measures",
]

#: A recipient's relationship to the controller: 제3자 제공 (PIPA §17) or 처리위탁 (§26).
RELATIONSHIPS: tuple[str, ...] = ("provision", "entrustment")
#: The older ``kind`` values, each the same relationship.
KIND_OF_RELATIONSHIP = {"provision": "provision", "entrustment": "outsourcing"}
RELATIONSHIP_OF_KIND = {kind: rel for rel, kind in KIND_OF_RELATIONSHIP.items()}

#: Sections a policy file must have, with the law that asks for each: a file without
#: one fails ``flask privacy policy check`` and start-up, naming it.
MANDATORY_SECTIONS: dict[str, str] = {
    "effective_date": "the day the policy takes effect (시행일; PIPA §30②, the PIPC's writing guideline)",
    "rights": "the rights of data subjects and legal representatives and how to exercise them (PIPA §30①5)",
    "department": "the department that receives requests, with a phone number or other contact (PIPA §30①6)",
    "safety": "the measures that keep personal data safe (안전성 확보조치; PIPA decree §31①)",
}


@dataclass(frozen=True)
class Rights:
    """How rights are exercised (PIPA §30①5): ``channels`` (where and how a request is
    made) and ``representative`` (how a legal representative or agent makes one, §38①)."""

    channels: Text
    representative: Text


@dataclass(frozen=True)
class Department:
    """The department that receives and handles requests (PIPA §30①6)."""

    name: Text
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Safety:
    """The company's own safety measures (administrative, technical, physical)."""

    measures: tuple[Text, ...] = ()


@dataclass(frozen=True)
class Remedy:
    """A public body a data subject can turn to (권익침해 구제방법)."""

    id: str
    name: Text
    phone: str
    url: str


@dataclass(frozen=True)
class Overseas:
    """A transfer abroad (국외 이전, PIPA §28-8): to which country, when and how."""

    country: Text
    method: Text


@dataclass(frozen=True)
class Measure:
    """A safety measure the extension itself takes, in the page's words (``i18n`` key)."""

    key: str
    period: Period | None = None


def _t(ko: str, en: str) -> Text:
    return Text({"ko": ko, "en": en})


#: The public bodies every Korean policy names (public facts; docs/korean-law.md).
DEFAULT_REMEDIES: tuple[Remedy, ...] = (
    Remedy(
        "dispute_mediation",
        _t("개인정보분쟁조정위원회", "Personal Information Dispute Mediation Committee"),
        "1833-6972",
        "https://www.kopico.go.kr",
    ),
    Remedy(
        "kisa_report_center",
        _t("개인정보침해신고센터 (한국인터넷진흥원)", "Personal Information Infringement Report Center (KISA)"),
        "118",
        "https://privacy.kisa.or.kr",
    ),
    Remedy("prosecution", _t("대검찰청", "Supreme Prosecutors' Office"), "1301", "https://www.spo.go.kr"),
    Remedy("police", _t("경찰청", "Korean National Police Agency"), "182", "https://ecrm.police.go.kr"),
)


def extension_measures(settings: Any) -> tuple[Measure, ...]:
    """What the extension itself does to keep data safe, from an app's ``Settings``.

    Always: the separate archive database (PIPA §21③), archive encryption with one key
    per subject, irrecoverable destruction (decree §16); operator access records are
    kept ``PRIVACY_OPERATOR_ACCESS_PERIOD`` (decree §30①, 안전성 확보조치 기준 §8).
    Without settings (a policy rendered outside an app) nothing is claimed.
    """
    if settings is None:
        return ()
    return (
        Measure("separate_archive"),
        Measure("archive_encryption"),
        Measure("operator_access", settings.operator_access_period),
        Measure("irrecoverable_destruction"),
    )


class ContentsReader(ProblemCollector):
    """Reads the sections of this module; mixed into the policy loader."""

    #: A version stored before a section became mandatory is still read (to show the
    #: policy history, PIPA §30②): what it lacks is simply not shown.
    stored = False

    def mandatory(self, data: dict[str, Any]) -> None:
        if self.stored:
            return
        for key, why in MANDATORY_SECTIONS.items():
            if key not in data:
                self.problem(key, f"missing: a privacy policy must state {why}")

    def rights(self, raw: Any) -> Rights | None:
        if raw is None:
            return None
        d = self.table("rights", raw, {"channels", "representative"}, ["channels", "representative"])
        return Rights(
            channels=self.text("rights.channels", d.get("channels")),
            representative=self.text("rights.representative", d.get("representative")),
        )

    def department(self, raw: Any) -> Department | None:
        if raw is None:
            return None
        d = self.table("department", raw, {"name", "phone", "email"}, ["name"])
        phone = self.optional_string("department.phone", d.get("phone"))
        email = self.optional_string("department.email", d.get("email"))
        if d and phone is None and email is None:
            self.problem("department", "needs a 'phone' (or at least an 'email'): PIPA §30①6 asks for a contact")
        return Department(name=self.text("department.name", d.get("name")), phone=phone, email=email)

    def safety(self, raw: Any) -> Safety | None:
        if raw is None:
            return None
        d = self.table("safety", raw, {"measures"}, ["measures"])
        measures = d.get("measures", [])
        if not isinstance(measures, list):
            self.problem("safety.measures", "must be a list of texts (may be empty)")
            return Safety()
        return Safety(tuple(self.text(f"safety.measures[{i}]", m) for i, m in enumerate(measures)))

    def remedies(self, data: dict[str, Any]) -> tuple[Remedy, ...]:
        if "remedies" not in data:
            return DEFAULT_REMEDIES
        return self.entries(
            "remedies",
            {"name", "phone", "url"},
            {"name", "phone", "url"},
            lambda w, e: Remedy(
                e["id"],
                self.text(f"{w}.name", e.get("name")),
                self.string(f"{w}.phone", e.get("phone")),
                self.string(f"{w}.url", e.get("url")),
            ),
        )

    def relationship(self, where: str, e: dict[str, Any]) -> str:
        """The recipient's ``kind`` (outsourcing/provision) from ``relationship`` or ``kind``."""
        rel, kind = e.get("relationship"), e.get("kind")
        if rel is None and kind is None:
            self.problem(where, "missing required key 'relationship' (provision or entrustment)")
            return "outsourcing"
        if rel is not None and rel not in RELATIONSHIPS:
            self.problem(f"{where}.relationship", f"{rel!r} is not one of {', '.join(RELATIONSHIPS)}")
            return "outsourcing"
        if kind is not None and kind not in RECIPIENT_KINDS:
            self.problem(f"{where}.kind", f"{kind!r} is not one of {', '.join(RECIPIENT_KINDS)}")
            return "outsourcing"
        if rel is not None and kind is not None and KIND_OF_RELATIONSHIP[rel] != kind:
            self.problem(where, f"relationship {rel!r} and kind {kind!r} disagree; keep 'relationship' only")
        return KIND_OF_RELATIONSHIP[rel] if rel is not None else str(kind)

    def overseas(self, where: str, raw: Any) -> Overseas | None:
        if raw is None:
            return None
        d = self.table(f"{where}.overseas", raw, {"country", "method"}, ["country", "method"])
        return Overseas(
            country=self.text(f"{where}.overseas.country", d.get("country")),
            method=self.text(f"{where}.overseas.method", d.get("method")),
        )

    def refusal_consequence(self, where: str, e: dict[str, Any], basis: Any) -> Text | None:
        raw = e.get("refusal_consequence")
        if raw is None:
            if basis == "consent" and not self.stored:
                self.problem(
                    where,
                    "missing required key 'refusal_consequence': an optional purpose must say what "
                    "refusing it means (PIPA §15②4)",
                )
            return None
        return self.text(f"{where}.refusal_consequence", raw)

    def optional_string(self, where: str, value: Any) -> str | None:
        if value is None:
            return None
        if is_placeholder(value):
            return str(value)
        return self.string(where, value) or None
