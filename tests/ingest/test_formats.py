"""Publishing XLSX, JSON, NDJSON, GeoJSON, Parquet, shapefiles and GeoPackages, read back from
the version's Parquet with DuckDB; bad files refused with a clear message and nothing published.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest
from sqlalchemy import func, select

from statedata.catalog.metadata import DatasetMetadata
from statedata.catalog.models import Dataset, Version
from statedata.errors import IngestError
from statedata.ingest import TableSchema, open_table
from statedata.installation import Installation
from statedata.storage import NewDataset, publish
from statedata.storage.duck import connect
from statedata.storage.versions import version_rows_sql

SYSTEM = '":id", ":created_at", ":updated_at"'
ID = '":id"'


def publish_file(installation: Installation, path: Path, **options: object):  # type: ignore[no-untyped-def]
    source = open_table(path, **options)  # type: ignore[arg-type]
    return publish(installation, source, new=NewDataset(DatasetMetadata(title=path.stem), None))


def read_back(
    installation: Installation, dataset_id: str, columns: str = "*"
) -> tuple[list[tuple], dict[str, str]]:
    """Rows (ordered by :id, without system fields) and column types of the current version."""
    with installation.catalog.session() as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None and dataset.current_version is not None
        sql = version_rows_sql(installation, dataset.current_version)
        types = {c["name"]: c["type"] for c in dataset.current_version.schema}
    if columns == "*":
        columns = f"* EXCLUDE ({SYSTEM})"
    con = connect(extensions=("spatial",))
    try:
        rows = con.execute(f"SELECT {columns} FROM ({sql}) ORDER BY {ID}").fetchall()
    finally:
        con.close()
    for name in (":id", ":created_at", ":updated_at"):
        types.pop(name, None)
    return rows, types


def nothing_published(installation: Installation) -> bool:
    with installation.catalog.session() as session:
        datasets = session.scalar(select(func.count()).select_from(Dataset))
        versions = session.scalar(select(func.count()).select_from(Version))
    staging = installation.settings.data_dir / "_staging"
    leftovers = list(staging.iterdir()) if staging.exists() else []
    return datasets == 0 and versions == 0 and not leftovers


def refused(installation: Installation, path: Path) -> str:
    with pytest.raises(IngestError) as caught:
        publish_file(installation, path)
    assert nothing_published(installation)
    return caught.value.message


def geo_rows(installation: Installation, dataset_id: str, names: str) -> list[tuple]:
    with installation.catalog.session() as session:
        dataset = session.get(Dataset, dataset_id)
        sql = version_rows_sql(installation, dataset.current_version)
    con = connect(extensions=("spatial",))
    try:
        return con.execute(
            f"SELECT {names}, ST_AsGeoJSON(geometry) FROM ({sql}) ORDER BY {ID}"
        ).fetchall()
    finally:
        con.close()


# Excel ------------------------------------------------------------------------------------


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_xlsx_first_sheet_is_published_with_types(
    installation: Installation, tmp_path: Path
) -> None:
    path = workbook(
        tmp_path / "inspections.xlsx",
        {
            "Inspections": [
                ["facility", "score", "inspected", "passed", "permit"],
                ["Elm Diner", 92.5, dt.date(2024, 3, 1), True, 1001],
                ["Oak Cafe", 71, dt.date(2024, 3, 2), False, 1002],
                [None, None, None, None, None],  # an empty row is layout, not a record
                ["Pine Grill", 88, dt.date(2024, 3, 5), True, 1003],
            ],
            "Notes": [["about"], ["not published"]],
        },
    )
    result = publish_file(installation, path)
    rows, types = read_back(installation, result.dataset_id)
    assert rows == [
        ("Elm Diner", 92.5, dt.date(2024, 3, 1), True, 1001),
        ("Oak Cafe", 71.0, dt.date(2024, 3, 2), False, 1002),
        ("Pine Grill", 88.0, dt.date(2024, 3, 5), True, 1003),
    ]
    # Whole numbers stay whole, though Excel stores every number as a double.
    assert types == {
        "facility": "VARCHAR",
        "score": "DOUBLE",
        "inspected": "DATE",
        "passed": "BOOLEAN",
        "permit": "BIGINT",
    }
    assert any("'Notes'" in note for note in result.notes)


def test_xlsx_rows_after_an_empty_row_are_kept(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    rows = [["town", "count"], ["Avon", 1], [None, None], [None, None], ["Berlin", 2]]
    path = workbook(tmp_path / "towns.xlsx", {"Sheet1": rows})
    result = publish_file(sqlite_installation, path)
    assert read_back(sqlite_installation, result.dataset_id)[0] == [("Avon", 1), ("Berlin", 2)]


def test_xlsx_blank_header_cell_gets_its_column_letter(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    path = workbook(tmp_path / "b.xlsx", {"S": [["town", None], ["Avon", 3]]})
    result = publish_file(sqlite_installation, path)
    _, types = read_back(sqlite_installation, result.dataset_id)
    assert list(types) == ["town", "column_B"]


def test_xlsx_text_in_a_number_column_names_sheet_row_and_column(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    rows = [["town", "count"]] + [[f"t{i}", i] for i in range(10)] + [["bad", "n/a"]]
    path = workbook(tmp_path / "counts.xlsx", {"Counts 2024": rows})
    message = refused(sqlite_installation, path)
    assert "sheet 'Counts 2024'" in message
    assert "row 12" in message
    assert "column 'count'" in message
    assert "'n/a' is not a number" in message


def test_xlsx_that_is_really_csv_is_refused(sqlite_installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("budget.xlsx", "a,b\n1,2\n")
    message = refused(sqlite_installation, path)
    assert "named as Excel (XLSX) but contains plain text" in message


def test_xlsx_with_header_only_has_no_rows(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    path = workbook(tmp_path / "empty.xlsx", {"S": [["a", "b"]]})
    assert "has no rows" in refused(sqlite_installation, path)


def test_xlsx_with_schema_casts_and_checks_header(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    path = workbook(tmp_path / "zips.xlsx", {"S": [["zip", "people"], [6010, 12], [6011, 14.0]]})
    schema = TableSchema.from_descriptor(
        {"fields": [{"name": "zip", "type": "string"}, {"name": "people", "type": "integer"}]}
    )
    result = publish_file(sqlite_installation, path, schema=schema)
    rows, types = read_back(sqlite_installation, result.dataset_id)
    assert rows == [("6010", 12), ("6011", 14)]
    assert types == {"zip": "VARCHAR", "people": "BIGINT"}

    wrong = TableSchema.from_descriptor({"fields": [{"name": "zip", "type": "string"}]})
    with pytest.raises(IngestError, match="'people' are not in the schema"):
        publish_file(sqlite_installation, path, schema=wrong)


def test_xlsx_fraction_in_a_declared_integer_column_names_the_row(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    path = workbook(tmp_path / "n.xlsx", {"S": [["people"], [12], [2.5]]})
    schema = TableSchema.from_descriptor({"fields": [{"name": "people", "type": "integer"}]})
    with pytest.raises(IngestError) as caught:
        publish_file(sqlite_installation, path, schema=schema)
    assert "row 3, column 'people': '2.5' is not a whole number" in caught.value.message
    assert nothing_published(sqlite_installation)


# JSON and NDJSON ---------------------------------------------------------------------------


def test_json_array_of_objects(installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    records = [
        {"id": 1, "name": "Avon", "rate": 1.5, "open": True},
        {"id": 2, "name": "Berlin", "rate": None, "open": False},
    ]
    path = write_file("towns.json", json.dumps(records))
    result = publish_file(installation, path)
    rows, types = read_back(installation, result.dataset_id)
    assert rows == [(1, "Avon", 1.5, True), (2, "Berlin", None, False)]
    assert types == {"id": "BIGINT", "name": "VARCHAR", "rate": "DOUBLE", "open": "BOOLEAN"}


def test_ndjson_with_a_late_type_change_becomes_text(
    sqlite_installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    lines = [json.dumps({"code": i, "town": "Avon"}) for i in range(25000)]
    lines.append(json.dumps({"code": "X9", "town": "Berlin"}))
    path = write_file("codes.ndjson", "\n".join(lines) + "\n")
    result = publish_file(sqlite_installation, path)
    rows, types = read_back(sqlite_installation, result.dataset_id)
    assert types == {"code": "VARCHAR", "town": "VARCHAR"}
    assert rows[0] == ("0", "Avon")
    assert rows[-1] == ("X9", "Berlin")


def test_json_with_schema(sqlite_installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("t.json", '[{"zip": 6010, "when": "2024-01-02"}]')
    schema = TableSchema.from_descriptor(
        {"fields": [{"name": "zip", "type": "string"}, {"name": "when", "type": "date"}]}
    )
    result = publish_file(sqlite_installation, path, schema=schema)
    assert read_back(sqlite_installation, result.dataset_id) == (
        [("6010", dt.date(2024, 1, 2))],
        {"zip": "VARCHAR", "when": "DATE"},
    )


def test_json_value_that_breaks_the_schema_names_the_record(
    sqlite_installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    path = write_file("t.ndjson", '{"n": "1"}\n{"n": "2"}\n{"n": "three"}\n')
    schema = TableSchema.from_descriptor({"fields": [{"name": "n", "type": "integer"}]})
    with pytest.raises(IngestError) as caught:
        publish_file(sqlite_installation, path, schema=schema)
    assert "record 3, column 'n': 'three' is not a whole number" in caught.value.message
    assert nothing_published(sqlite_installation)


def test_malformed_json_names_the_line(installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("bad.json", '[\n  {"a": 1},\n  {"a": 2 "b": 3}\n]\n')
    message = refused(installation, path)
    assert "line 3" in message and "not valid JSON" in message


def test_malformed_ndjson_names_the_line(sqlite_installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("bad.ndjson", '{"a": 1}\n{"a": 2}\n{"a": 3\n{"a": 4}\n')
    assert "line 3 is not valid JSON" in refused(sqlite_installation, path)


def test_a_single_json_object_is_refused(sqlite_installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("meta.json", '{"data": [{"a": 1}], "meta": {"view": "x"}}')
    assert "single JSON object, not a list of records" in refused(sqlite_installation, path)


def test_json_array_of_arrays_is_refused(sqlite_installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("grid.json", "[[1, 2], [3, 4]]")
    assert "JSON array of arrays, not of objects" in refused(sqlite_installation, path)


def test_empty_json_array_has_no_rows(sqlite_installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("none.json", "[]")
    assert "has no rows" in refused(sqlite_installation, path)


def test_json_file_holding_geojson_is_read_as_geojson(
    sqlite_installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    path = write_file("sites.json", json.dumps(feature_collection([point("A", -72.5, 41.5)])))
    result = publish_file(sqlite_installation, path)
    _, types = read_back(sqlite_installation, result.dataset_id)
    assert list(types) == ["name", "geometry", "latitude", "longitude"]


# GeoJSON -----------------------------------------------------------------------------------


def point(name: str, lon: float, lat: float, **properties: object) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name, **properties},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def feature_collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def test_geojson_points_get_geometry_latitude_and_longitude(
    installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    features = [
        point("Hartford", -72.6851, 41.7637, population=121054),
        point("New Haven", -72.9279, 41.3083, population=134023),
    ]
    path = write_file("cities.geojson", json.dumps(feature_collection(features)))
    result = publish_file(installation, path)
    rows, types = read_back(
        installation, result.dataset_id, "name, population, latitude, longitude"
    )
    assert rows == [
        ("Hartford", 121054, 41.7637, -72.6851),
        ("New Haven", 134023, 41.3083, -72.9279),
    ]
    assert types["geometry"].startswith("GEOMETRY")
    assert types["latitude"] == types["longitude"] == "DOUBLE"
    geo = geo_rows(installation, result.dataset_id, "name")
    assert json.loads(geo[0][1]) == {"type": "Point", "coordinates": [-72.6851, 41.7637]}


def test_geojson_polygons_keep_geometry_without_latitude(
    sqlite_installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    ring = [[-72.0, 41.0], [-72.0, 42.0], [-71.0, 42.0], [-72.0, 41.0]]
    feature = {
        "type": "Feature",
        "properties": {"town": "A"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path = write_file("areas.geojson", json.dumps(feature_collection([feature])))
    result = publish_file(sqlite_installation, path)
    _, types = read_back(sqlite_installation, result.dataset_id)
    assert list(types) == ["town", "geometry"]
    geo = geo_rows(sqlite_installation, result.dataset_id, "town")
    assert json.loads(geo[0][1]) == {"type": "Polygon", "coordinates": [ring]}


def test_geojson_properties_named_latitude_are_not_duplicated(
    sqlite_installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    feature = point("A", -72.5, 41.5, latitude=41.5, longitude=-72.5)
    path = write_file("p.geojson", json.dumps(feature_collection([feature])))
    result = publish_file(sqlite_installation, path)
    _, types = read_back(sqlite_installation, result.dataset_id)
    assert list(types) == ["name", "latitude", "longitude", "geometry"]


def test_empty_feature_collection_is_refused(installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("none.geojson", json.dumps(feature_collection([])))
    assert "has no rows" in refused(installation, path)


def test_malformed_geojson_names_the_line(sqlite_installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file(
        "bad.geojson", '{"type": "FeatureCollection",\n "features": [\n  {"type": }]}'
    )
    message = refused(sqlite_installation, path)
    assert "line 3" in message and "not valid JSON" in message


def test_json_that_is_not_geojson_is_refused(sqlite_installation: Installation, write_file) -> None:  # type: ignore[no-untyped-def]
    path = write_file("x.geojson", '{"name": "not a feature"}')
    assert "is not GeoJSON" in refused(sqlite_installation, path)


# Shapefiles and GeoPackages ----------------------------------------------------------------


CITIES = (
    "SELECT * FROM (VALUES ('Hartford', 121054, DATE '2020-01-02', -72.6851, 41.7637), "
    "('New Haven', 134023, NULL, -72.9279, 41.3083)) AS t(name, pop, opened, lon, lat)"
)


def write_vector(path: Path, driver: str, srs: str = "EPSG:4326") -> Path:
    """Write two city points with DuckDB spatial's GDAL writer, projected into `srs`."""
    con = connect(extensions=("spatial",))
    try:
        geometry = "ST_Point(lon, lat)"
        if srs != "EPSG:4326":
            geometry = f"ST_Transform({geometry}, 'EPSG:4326', '{srs}', always_xy := true)"
        con.execute(
            f"COPY (SELECT name, pop, opened, {geometry} AS geom FROM ({CITIES})) "
            f"TO '{path}' (FORMAT GDAL, DRIVER '{driver}', SRS '{srs}')"
        )
    finally:
        con.close()
    return path


def zip_shapefile(shp: Path, target: Path, folder: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for part in sorted(shp.parent.glob(shp.stem + ".*")):
            archive.write(part, folder + part.name)
    return target


def assert_cities(installation: Installation, dataset_id: str) -> None:
    rows, types = read_back(installation, dataset_id, "name, pop, opened, latitude, longitude")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("Hartford", 121054, dt.date(2020, 1, 2)),
        ("New Haven", 134023, None),
    ]
    assert rows[0][3] == pytest.approx(41.7637, abs=1e-6)
    assert rows[0][4] == pytest.approx(-72.6851, abs=1e-6)
    assert list(types) == ["name", "pop", "opened", "geometry", "latitude", "longitude"]
    geo = geo_rows(installation, dataset_id, "name")
    lon, lat = json.loads(geo[1][1])["coordinates"]
    assert (lon, lat) == (pytest.approx(-72.9279, abs=1e-6), pytest.approx(41.3083, abs=1e-6))


def test_zipped_shapefile_in_state_plane_is_transformed_to_wgs84(
    installation: Installation, tmp_path: Path
) -> None:
    (tmp_path / "shp").mkdir()
    shp = write_vector(tmp_path / "shp" / "cities.shp", "ESRI Shapefile", "EPSG:2234")
    archive = zip_shapefile(shp, tmp_path / "cities export.zip", folder="export/")
    source = open_table(archive)
    assert source.attach_original
    result = publish(installation, source, new=NewDataset(DatasetMetadata(title="c"), None))
    assert_cities(installation, result.dataset_id)
    assert any("EPSG:2234" in note and "EPSG:4326" in note for note in result.notes)


def test_bare_shapefile_with_its_siblings(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    shp = write_vector(tmp_path / "cities.shp", "ESRI Shapefile")
    result = publish_file(sqlite_installation, shp)
    assert_cities(sqlite_installation, result.dataset_id)


def test_shapefile_without_its_dbf_is_refused(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    shp = write_vector(tmp_path / "cities.shp", "ESRI Shapefile")
    (tmp_path / "cities.dbf").unlink()
    assert "needs its .dbf file(s) next to it" in refused(sqlite_installation, shp)


def test_zip_without_a_shapefile_is_refused(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    archive = tmp_path / "docs.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "hello")
    assert "holds no shapefile" in refused(sqlite_installation, archive)


def test_geopackage_first_layer(installation: Installation, tmp_path: Path) -> None:
    gpkg = write_vector(tmp_path / "cities.gpkg", "GPKG")
    source = open_table(gpkg)
    assert source.attach_original
    result = publish(installation, source, new=NewDataset(DatasetMetadata(title="g"), None))
    assert_cities(installation, result.dataset_id)


def test_geopackage_that_is_a_text_file_is_refused(
    sqlite_installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    path = write_file("layers.gpkg", "name,geom\nA,POINT(1 2)\n")
    assert "named as GeoPackage but contains plain text" in refused(sqlite_installation, path)


def test_sqlite_file_that_is_not_a_geopackage_is_refused(
    sqlite_installation: Installation, tmp_path: Path
) -> None:
    path = tmp_path / "other.gpkg"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (a INTEGER)")
    db.commit()
    db.close()
    message = refused(sqlite_installation, path)
    assert "other.gpkg" in message and "GeoPackage" in message


# Parquet -----------------------------------------------------------------------------------


def test_parquet(sqlite_installation: Installation, tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y') TO '{path}'")
    con.close()
    result = publish_file(sqlite_installation, path)
    assert read_back(sqlite_installation, result.dataset_id) == (
        [(1, "x"), (2, "y")],
        {"a": "INTEGER", "b": "VARCHAR"},
    )


def test_geojson_with_schema_for_its_properties_keeps_geometry(
    sqlite_installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    features = [point("Avon", -72.8, 41.8, code="06001")]
    path = write_file("towns.geojson", json.dumps(feature_collection(features)))
    schema = TableSchema.from_descriptor(
        {"fields": [{"name": "name", "type": "string"}, {"name": "code", "type": "integer"}]}
    )
    result = publish_file(sqlite_installation, path, schema=schema)
    rows, types = read_back(sqlite_installation, result.dataset_id, "name, code, latitude")
    assert rows == [("Avon", 6001, 41.8)]
    assert list(types) == ["name", "code", "geometry", "latitude", "longitude"]


def test_geometry_published_again_by_append_keeps_its_type(
    sqlite_installation: Installation, write_file
) -> None:  # type: ignore[no-untyped-def]
    first = write_file("a.geojson", json.dumps(feature_collection([point("A", -72.1, 41.1)])))
    second = write_file("b.geojson", json.dumps(feature_collection([point("B", -72.2, 41.2)])))
    result = publish_file(sqlite_installation, first)
    publish(sqlite_installation, open_table(second), dataset_id=result.dataset_id, mode="append")
    geo = geo_rows(sqlite_installation, result.dataset_id, "name, latitude")
    assert [(name, lat, json.loads(g)["coordinates"]) for name, lat, g in geo] == [
        ("A", 41.1, [-72.1, 41.1]),
        ("B", 41.2, [-72.2, 41.2]),
    ]
