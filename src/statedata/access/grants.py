"""What sharing agreements open: the non-public datasets a user may read today.

An agreement grants access while it is executed, its effective date has come and its expiry
date has not passed; to the users it names; to the datasets it covers. Nothing else does.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from statedata.catalog.sharing import Agreement, AgreementDataset, AgreementUser

EXECUTED = "executed"


def in_force(today: dt.date):  # type: ignore[no-untyped-def]
    """The SQL condition for an agreement that grants access on `today`."""
    return (
        (Agreement.status == EXECUTED)
        & or_(Agreement.effective_date.is_(None), Agreement.effective_date <= today)
        & or_(Agreement.expiry_date.is_(None), Agreement.expiry_date >= today)
    )


def granted_dataset_ids(session: Session, user_id: int, today: dt.date | None = None) -> set[str]:
    today = today or dt.datetime.now(dt.UTC).date()
    rows = session.scalars(
        select(AgreementDataset.dataset_id)
        .join(Agreement, Agreement.id == AgreementDataset.agreement_id)
        .join(AgreementUser, AgreementUser.agreement_id == Agreement.id)
        .where(AgreementUser.user_id == user_id, in_force(today))
    )
    return set(rows)
