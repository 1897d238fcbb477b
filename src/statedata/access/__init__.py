"""Who may do what: the one `can(actor, action, dataset)` check that every door calls.

Users and API keys are in `accounts`; web sign-in and sharing agreements arrive with the
governance work, and land here too: `policy` stays the one place that decides.
"""

from statedata.access.accounts import AuthenticationFailed, actor_from_authorization
from statedata.access.policy import (
    ANONYMOUS,
    Action,
    Actor,
    DatasetFacts,
    Role,
    can,
    require,
    visible_ids,
)

__all__ = [
    "ANONYMOUS",
    "Action",
    "Actor",
    "AuthenticationFailed",
    "DatasetFacts",
    "Role",
    "actor_from_authorization",
    "can",
    "require",
    "visible_ids",
]
