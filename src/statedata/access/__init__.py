"""Who may do what: the one `can(actor, action, dataset)` check that every door calls.

Accounts, roles and sharing agreements arrive with the governance work; the policy below is
already the one place that decides, so those land here and nowhere else.
"""

from statedata.access.policy import ANONYMOUS, Action, Actor, can, require

__all__ = ["ANONYMOUS", "Action", "Actor", "can", "require"]
