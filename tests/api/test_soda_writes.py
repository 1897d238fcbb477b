"""SODA writes with the real sodapy client: upsert and replace with an API key; anonymous and
other agencies' writes refused; bad bodies refused; nothing changes on refusal."""

from __future__ import annotations

import pytest
from requests.exceptions import HTTPError
from sodapy import Socrata

from auth_headers import basic_auth  # type: ignore[import-not-found]
from statedata.access.accounts import add_user, create_key
from statedata.catalog import DatasetMetadata, service
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish


@pytest.fixture
def towns(installation, agency, write_file) -> str:
    path = write_file("t.csv", "town,cases,reported\nAndover,3,2024-01-02\nAvon,7,2024-01-03\n")
    metadata = DatasetMetadata(title="Cases", row_identifier="town")
    return publish(installation, open_table(path), new=NewDataset(metadata, agency)).dataset_id


def _key(installation, user: str, agency_code: str) -> tuple[str, str]:
    with installation.catalog.session() as session:
        if agency_code != "DPH":
            service.add_agency(session, agency_code, f"Agency {agency_code}")
        add_user(session, user, "publisher", agency_code)
        key, secret = create_key(session, user)
        return key.key_id, secret


def _client(live_server, key: tuple[str, str] | None = None) -> Socrata:
    domain = live_server.url.removeprefix("http://")
    username, password = key if key else (None, None)
    client = Socrata(domain, None, username=username, password=password, timeout=30)
    client.uri_prefix = "http://"
    return client


def test_upsert_and_replace_with_sodapy(installation, live_server, towns):
    client = _client(live_server, _key(installation, "pat", "DPH"))
    result = client.upsert(
        towns,
        [
            {"town": "Avon", "cases": "9"},
            {"town": "Bethel", "cases": 4},
            {"town": "Andover", ":deleted": True},
        ],
    )
    assert (result["Rows Created"], result["Rows Updated"], result["Rows Deleted"]) == (1, 1, 1)
    rows = {r["town"]: r for r in client.get(towns)}
    assert rows["Avon"] == {"town": "Avon", "cases": "9", "reported": "2024-01-03T00:00:00.000"}
    assert set(rows) == {"Avon", "Bethel"}

    replaced = client.replace(towns, [{"town": "Canton", "cases": "1", "reported": "2024-03-01"}])
    assert replaced["Rows Created"] == 1
    assert client.get(towns) == [
        {"town": "Canton", "cases": "1", "reported": "2024-03-01T00:00:00.000"}
    ]
    view = client.get_metadata(towns)
    assert [c["dataTypeName"] for c in view["columns"]] == [
        "text",
        "number",
        "calendar_date",
    ]  # types kept
    client.close()


def test_upsert_csv_body(http, installation, towns):
    key_id, secret = _key(installation, "pat", "DPH")
    response = http.post(
        f"/resource/{towns}.json",
        content=b"town,cases\nAvon,70\n",
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {key_id}:{secret}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["Rows Updated"] == 1


def test_anonymous_write_is_401_and_changes_nothing(http, live_server, towns):
    response = http.post(f"/resource/{towns}.json", json=[{"town": "X", "cases": 1}])
    assert response.status_code == 401 and response.json()["code"] == "authentication.required"
    client = _client(live_server)
    with pytest.raises(HTTPError, match="401"):
        client.upsert(towns, [{"town": "X", "cases": 1}])
    assert len(client.get(towns)) == 2


def test_other_agency_key_is_403(http, installation, towns):
    key_id, secret = _key(installation, "dot.user", "DOT")
    response = http.put(
        f"/resource/{towns}.json", json=[{"town": "X"}], headers=basic_auth(f"{key_id}:{secret}")
    )
    assert response.status_code == 403 and response.json()["code"] == "access.forbidden"


def test_wrong_secret_is_401(http, installation, towns):
    key_id, _ = _key(installation, "pat", "DPH")
    response = http.get(
        f"/resource/{towns}.json", headers={"Authorization": f"Bearer {key_id}:wrong"}
    )
    assert response.status_code == 401 and response.json()["code"] == "authentication.invalid"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "array of objects"),
        (b'[{"town": "Avon", "cases": "many"}]', 422, "'many' does not fit"),
        (b'[{"town": "Avon", "population": 5}]', 422, "'population' is not in this dataset"),
    ],
)
def test_bad_bodies_are_refused(http, installation, towns, body, status, message):
    key_id, secret = _key(installation, "pat", "DPH")
    response = http.post(
        f"/resource/{towns}.json",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key_id}:{secret}"},
    )
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert len(http.get(f"/resource/{towns}.json").json()) == 2
