"""flask-casenote-privacy: a privacy policy, executable in Flask."""

from .errors import ConfigurationError, InvalidRequest
from .extension import Privacy
from .periods import Period, add_period, parse_period
from .policy.loader import PolicyError, check_policy, load_policy
from .policy.model import Policy

__all__ = [
    "ConfigurationError",
    "InvalidRequest",
    "Period",
    "Policy",
    "PolicyError",
    "Privacy",
    "add_period",
    "check_policy",
    "load_policy",
    "parse_period",
]
