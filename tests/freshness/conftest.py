"""Datasets with chosen frequencies and update dates, for the freshness tests."""

from __future__ import annotations

import datetime as dt

import pytest

from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import Dataset

TODAY = dt.date(2026, 6, 1)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture
def make_dataset(installation, agency):
    """`make_dataset(title, frequency, last_update, **fields)` -> its id."""

    def make(title: str, frequency: str | None, last: dt.date | None, **fields) -> str:
        with installation.catalog.session() as session:
            dataset = service.create_dataset(
                session,
                DatasetMetadata(title=title, update_frequency=frequency),
                fields.pop("agency_code", agency),
                installation.settings.categories,
            )
            dataset.created_at = at(fields.pop("created", dt.date(2020, 1, 1)))
            dataset.data_updated_at = at(last) if last else None
            for name, value in fields.items():
                setattr(dataset, name, value)
            return dataset.id

    return make


@pytest.fixture
def get(installation):
    def get(dataset_id: str) -> Dataset:
        with installation.catalog.session() as session:
            return service.get_dataset(session, dataset_id)

    return get
