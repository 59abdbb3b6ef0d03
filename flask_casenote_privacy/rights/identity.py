"""Who made a request, and how the officer knew: PIPA decree §46① asks the
processor to check that whoever asks is the subject or their proper agent, and
PIPA §38① (decree §45) lets an agent ask with a power of attorney (위임장), a
legal representative (법정대리인) on the child's behalf. The officer's intake
records both; a request made on the web was checked by the member's session or
their single-use emailed link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["IDENTITY_CHECKS", "REQUESTERS", "Identity"]

#: How the requester's identity was checked (decree §46①).
IDENTITY_CHECKS = (
    "signed_in",  # the member's signed-in session
    "email_link",  # the single-use link sent to the address on file
    "registered_email",  # an email from the address on file
    "id_document",  # an identity document shown or copied (신분증)
    "phone",  # a call back to the number on file, or a mobile identity check
)
#: Who asked: the subject, an agent with a power of attorney, or a legal representative.
REQUESTERS = ("subject", "agent", "legal_representative")


@dataclass(frozen=True)
class Identity:
    """What the intake recorded about who asked. ``agent_reference`` names the power of
    attorney (or, for a legal representative, the document showing it), never its content."""

    identity_check: Any = None
    requester: Any = None
    agent_reference: Any = None

    def problems(self) -> list[str]:
        found = []
        if self.identity_check is not None and self.identity_check not in IDENTITY_CHECKS:
            found.append(f"identity_check: {self.identity_check!r} is not one of {', '.join(IDENTITY_CHECKS)}")
        if self.requester is not None and self.requester not in REQUESTERS:
            found.append(f"requester: {self.requester!r} is not one of {', '.join(REQUESTERS)}")
        reference = self.agent_reference
        if reference is not None and (
            not isinstance(reference, str)
            or not reference.strip()
            or len(reference) > 191
            or any(ord(c) < 32 for c in reference)
        ):
            found.append("agent_reference: 1 to 191 printable characters naming the power of attorney")
        elif self.requester in ("agent", "legal_representative") and not reference:
            found.append(
                f"agent_reference: a request by {'an agent' if self.requester == 'agent' else 'a legal representative'}"
                " needs the reference of the power of attorney (PIPA Art. 38, decree Art. 45)"
            )
        elif self.requester in (None, "subject") and reference:
            found.append("agent_reference: only a request by an agent or legal representative has one")
        return found

    def columns(self) -> dict[str, Any]:
        reference = self.agent_reference.strip() if isinstance(self.agent_reference, str) else None
        return {
            "identity_check": self.identity_check,
            "requester": self.requester or ("subject" if self.identity_check else None),
            "agent_reference": reference or None,
        }
