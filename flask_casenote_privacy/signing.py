"""Signed, expiring, single-use withdrawal links (itsdangerous, salt ``privacy.withdraw``).

A token carries the subject and a random nonce; using it records the nonce, so
a second use fails. Neither the token nor its payload is ever logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from .consent import clocked_signer
from .storage.tables import token_uses

__all__ = ["TokenError", "WithdrawLink", "WithdrawTokens"]

WITHDRAW_SALT = "privacy.withdraw"


class TokenError(Exception):
    """Why a link cannot be used: ``reason`` is expired, invalid or used."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class WithdrawLink:
    subject: str
    nonce: str
    issued_at: datetime


class WithdrawTokens:
    def __init__(self, secret_key: str | bytes | list[bytes], clock: Callable[[], datetime], max_age: int) -> None:
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
