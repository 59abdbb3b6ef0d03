"""flask-casenote-privacy: a privacy policy, executable in Flask.

What a host imports from here: the extension :class:`Privacy`; the data-source
protocol :class:`DataSource`, its record type :class:`SourceRecord` and the
SQLAlchemy adapter :class:`ModelSource`; the policy (:class:`Policy`,
:func:`load_policy`, :func:`check_policy`); calendar periods (:class:`Period`,
:func:`parse_period`, :func:`add_period`); :func:`exclude_privacy_tables` for the
host's own Alembic when both share a database; and every exception the package
raises on purpose, all subclasses of :class:`PrivacyError`.

Everything else is internal; docs/architecture.md maps the package.
"""

from .errors import (
    ConfigurationError,
    InvalidRequest,
    NotAllowed,
    NotFound,
    PeriodError,
    PolicyError,
    PrivacyError,
    RateLimited,
    SignInRequired,
    TokenError,
    UnknownPolicyId,
)
from .extension import Privacy
from .periods import Period, add_period, parse_period
from .policy.loader import check_policy, load_policy
from .policy.model import Policy
from .sources import CorrectableSource, DataSource, ModelSource, SourceRecord
from .storage.migrate import exclude_privacy_tables

__all__ = [
    "ConfigurationError",
    "CorrectableSource",
    "DataSource",
    "InvalidRequest",
    "ModelSource",
    "NotAllowed",
    "NotFound",
    "Period",
    "PeriodError",
    "Policy",
    "PolicyError",
    "Privacy",
    "PrivacyError",
    "RateLimited",
    "SignInRequired",
    "SourceRecord",
    "TokenError",
    "UnknownPolicyId",
    "add_period",
    "check_policy",
    "exclude_privacy_tables",
    "load_policy",
    "parse_period",
]
