"""The data dictionary's words: what each column of a dataset means, in plain language.

Column names and types come from the published file; their descriptions are written by the
agency's staff and kept with the columns. Every change is in the audit log. Whether a change
applies at once or waits for the data officer is `catalog.drafts`' business.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from statedata.catalog import audit, service
from statedata.catalog.models import Column
from statedata.errors import InvalidInput

DESCRIPTION_LENGTH = 5000


def _columns(session: Session, dataset_id: str) -> dict[str, Column]:
    return {
        c.field_name: c
        for c in session.scalars(select(Column).where(Column.dataset_id == dataset_id))
    }


def changed_descriptions(
    session: Session, dataset_id: str, descriptions: Mapping[str, str]
) -> dict[str, str]:
    """The descriptions given that differ from the columns' own, cleaned of outer spaces.

    Every name must be a column of the dataset and every text at most DESCRIPTION_LENGTH
    characters, or InvalidInput names the column. Nothing is changed."""
    dataset = service.get_dataset(session, dataset_id)
    columns = _columns(session, dataset.id)
    unknown = sorted(set(descriptions) - set(columns))
    if unknown:
        raise InvalidInput(
            f"Dataset {dataset.id} has no column '{unknown[0]}'.",
            field="columns",
            column=unknown[0],
        )
    cleaned = {name: text.strip() for name, text in descriptions.items()}
    for name, text in cleaned.items():
        if len(text) > DESCRIPTION_LENGTH:
            raise InvalidInput(
                f"The description of column '{name}' is longer than {DESCRIPTION_LENGTH:,} "
                "characters.",
                field="columns",
                column=name,
            )
    return {
        name: text for name, text in cleaned.items() if (columns[name].description or "") != text
    }


def describe_columns(
    session: Session, dataset_id: str, descriptions: Mapping[str, str], actor: str
) -> list[str]:
    """Set the description of each named column; returns the field names that changed.

    Every name must be a column of the dataset, or nothing changes. Who may do this, and
    whether it must wait for approval, is the caller's call (see `drafts.propose`)."""
    dataset = service.get_dataset(session, dataset_id)
    changed = changed_descriptions(session, dataset.id, descriptions)
    columns = _columns(session, dataset.id)
    for name, text in changed.items():
        columns[name].description = text
    if changed:
        audit.record(session, actor, "columns.describe", dataset.id, columns=sorted(changed))
    return sorted(changed)
