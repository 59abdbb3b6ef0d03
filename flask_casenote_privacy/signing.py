"""Everything signed with itsdangerous: the keys, a signer on the extension's clock,
and the withdrawal links (salt ``privacy.withdraw``); the consent cookie's
serializer (salt ``privacy.consent``) is made here too.

A withdrawal token carries the subject and a random nonce; using it records the
nonce, so a second use fails. Neither a token nor its payload is ever logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from .errors import TokenError
from .storage.tables import token_uses

__all__ = [
    "CONSENT_SALT",
    "WITHDRAW_SALT",
    "WithdrawLink",
    "WithdrawTokens",
    "clocked_signer",
    "consent_serializer",
    "signing_keys",
    "verify_timed",
]

WITHDRAW_SALT = "privacy.withdraw"
CONSENT_SALT = "privacy.consent"
Keys = str | bytes | list[bytes]


def signing_keys(config: Any) -> list[bytes]:
    """Keys for itsdangerous, oldest first: Flask's ``SECRET_KEY_FALLBACKS`` still
    verify consent cookies and links after a key rotation; ``SECRET_KEY`` signs."""
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return [key.encode() if isinstance(key, str) else bytes(key) for key in keys]


def clocked_signer(clock: Callable[[], datetime]) -> type[TimestampSigner]:
    """An itsdangerous signer that reads the extension's clock, so a token's age
    and the time a choice was made follow the same (injectable) time as the ledger."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return ClockedSigner


def consent_serializer(keys: Keys, clock: Callable[[], datetime]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(keys, salt=CONSENT_SALT, signer=clocked_signer(clock))


def verify_timed(serializer: URLSafeTimedSerializer, value: str) -> tuple[Any, datetime] | None:
    """(payload, signing time) of a value whose signature holds, else ``None``; the
    age is the caller's to check."""
    try:
        payload, signed_at = serializer.loads(value, max_age=None, return_timestamp=True)
    except Exception:  # BadSignature, and garbled payloads of every kind
        return None
    return payload, signed_at


@dataclass(frozen=True)
class WithdrawLink:
    subject: str
    nonce: str
    issued_at: datetime


class WithdrawTokens:
    def __init__(self, secret_key: Keys, clock: Callable[[], datetime], max_age: int) -> None:
        self.serializer = URLSafeTimedSerializer(secret_key, salt=WITHDRAW_SALT, signer=clocked_signer(clock))
        self.max_age = max_age

    def make(self, subject: str) -> str:
        return self.serializer.dumps({"s": subject, "n": secrets.token_hex(16)})

    def read(self, token: str) -> WithdrawLink:
        """The link's content; :class:`TokenError` if expired, forged or garbled."""
        if not isinstance(token, str) or len(token) > 1024:
            raise TokenError("invalid")
        try:
            payload, issued = self.serializer.loads(token, max_age=self.max_age, return_timestamp=True)
        except SignatureExpired:
            raise TokenError("expired") from None
        except BadSignature:
            raise TokenError("invalid") from None
        except Exception:
            raise TokenError("invalid") from None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("s"), str)
            or not isinstance(payload.get("n"), str)
        ):
            raise TokenError("invalid")
        return WithdrawLink(payload["s"], payload["n"], issued)

    def check_unused(self, engine: Engine, link: WithdrawLink) -> None:
        """:class:`TokenError` ("used") if the link was spent already."""
        with engine.connect() as conn:
            if conn.execute(select(token_uses.c.nonce).where(token_uses.c.nonce == link.nonce)).first():
                raise TokenError("used")

    def use(self, engine: Engine, link: WithdrawLink, now: datetime) -> None:
        """Spend the link once; :class:`TokenError` ("used") the second time."""
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(token_uses).values(
                        nonce=link.nonce,
                        used_at=now,
                        expires_at=link.issued_at + timedelta(seconds=self.max_age),
                    )
                )
        except IntegrityError:
            raise TokenError("used") from None
