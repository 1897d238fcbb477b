"""A declared Frictionless Table Schema: types enforced, constraints checked, bad descriptors
refused, each failure naming the row and column."""

from __future__ import annotations

import json

import pytest

from statedata.catalog import DatasetMetadata, service
from statedata.errors import IngestError
from statedata.ingest import TableSchema, open_table
from statedata.storage import NewDataset, publish

SCHEMA = {
    "fields": [
        {"name": "town", "type": "string", "constraints": {"required": True, "unique": True}},
        {"name": "cases", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "rate", "type": "number"},
        {"name": "reported", "type": "date"},
        {"name": "status", "type": "string", "constraints": {"enum": ["final", "provisional"]}},
        {"name": "zip", "type": "string", "constraints": {"pattern": "[0-9]{5}"}},
    ],
    "missingValues": ["", "NA"],
}
GOOD = (
    "town,cases,rate,reported,status,zip\n"
    "Andover,3,1.2,2024-01-02,final,06232\n"
    "Ansonia,NA,,2024-01-02,provisional,06401\n"
)


def _publish(installation, path, schema=SCHEMA):
    declared = TableSchema.from_descriptor(schema, "schema.json")
    return publish(
        installation,
        open_table(path, schema=declared),
        new=NewDataset(DatasetMetadata(title="T"), None),
    )


def test_declared_types_are_used(sqlite_installation, write_file):
    result = _publish(sqlite_installation, write_file("g.csv", GOOD))
    with sqlite_installation.catalog.session() as session:
        columns = service.get_dataset(session, result.dataset_id).columns
    assert [c.storage_type for c in columns] == [
        "VARCHAR",
        "BIGINT",
        "DOUBLE",
        "DATE",
        "VARCHAR",
        "VARCHAR",
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "Avon,x,1,2024-01-02,final,06001",
            r"line 4, column 'cases': 'x' is not a whole number as the schema declares",
        ),
        ("Avon,1,1,02/01/2024,final,06001", r"line 4, column 'reported'"),
        (
            "Avon,-1,1,2024-01-02,final,06001",
            r"row 3 \(line 4\), column 'cases': '-1' is below the minimum 0",
        ),
        (
            ",1,1,2024-01-02,final,06001",
            r"row 3 \(line 4\), column 'town': \(empty\) is empty but the schema requires",
        ),
        ("Avon,1,1,2024-01-02,draft,06001", r"column 'status': 'draft' is not one of the values"),
        ("Avon,1,1,2024-01-02,final,6001", r"column 'zip': '6001' does not match the pattern"),
        (
            "Andover,1,1,2024-01-02,final,06001",
            r"'town' must be unique, but 'Andover' appears in row 1 and row 3",
        ),
    ],
)
def test_constraint_failures_name_row_and_column(sqlite_installation, write_file, row, message):
    with pytest.raises(IngestError, match=message):
        _publish(sqlite_installation, write_file("b.csv", GOOD + row + "\n"))
    with sqlite_installation.catalog.session() as session:
        assert service.list_datasets(session) == []


def test_header_that_does_not_match_the_schema(sqlite_installation, write_file):
    with pytest.raises(
        IngestError, match="'zip' are not in the file.*'postcode' are not in the schema"
    ):
        _publish(sqlite_installation, write_file("h.csv", GOOD.replace(",zip", ",postcode")))


def test_invalid_descriptor_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"fields": [{"name": "a", "type": "integr"}]}))
    with pytest.raises(IngestError, match="not a valid Table Schema.*integr"):
        TableSchema.load(path)
    path.write_text("{not json")
    with pytest.raises(IngestError, match="not readable JSON"):
        TableSchema.load(path)
