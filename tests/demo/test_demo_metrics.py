"""The plan metrics on the demo portal match an independent count over the demo's own records:
plain SQL over the catalog, the freshness report's rows and the quality score of each dataset
object, never the metrics' own code."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from statedata.catalog import service
from statedata.demo import build_demo
from statedata.freshness import quality
from statedata.freshness.report import rows as freshness_rows
from statedata.installation import Installation
from statedata.metrics.publish import report

AS_OF = dt.date(2026, 11, 1)
PUBLIC = (
    "classification = 'public' AND access_level = 'public' AND publication_state = 'published' "
    "AND status NOT IN ('archived', 'retired')"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Installation, dict]]:
    installation = Installation.open(tmp_path_factory.mktemp("demo-metrics") / "home")
    build_demo(installation, as_of=AS_OF, payroll_rows=5_000)
    found = report(installation, AS_OF)
    yield installation, {m.key: m for m in found.metrics}
    installation.close()


def public_rows(installation: Installation) -> list:
    with installation.catalog.engine.connect() as con:
        return con.execute(
            text(
                "SELECT d.id, a.code, d.update_frequency, d.demographic_dimensions, "
                "coalesce(d.data_updated_at, d.created_at) AS last_update, "
                "v.source AS current_source "
                "FROM datasets d LEFT JOIN agencies a ON a.id = d.agency_id "
                "LEFT JOIN versions v ON v.id = d.current_version_id "
                f"WHERE {PUBLIC}"
            )
        ).all()


def day_of(value) -> dt.date:  # type: ignore[no-untyped-def]
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value.date() if isinstance(value, dt.datetime) else value


def share(part: int, whole: int) -> float:
    return round(part / whole, 4)


def test_dataset_counts_match(demo):
    installation, metrics = demo
    found = public_rows(installation)
    n = len(found)
    assert n > 100
    assert metrics["datasets.public"].value == n
    by_agency = Counter(r.code or "(no agency)" for r in found)
    assert metrics["datasets.public"].by_agency == dict(by_agency)
    last = [day_of(r.last_update) for r in found]
    assert metrics["updates.last_30_days"].value == share(
        sum((AS_OF - d).days <= 30 for d in last), n
    )
    assert metrics["updates.not_in_last_year"].value == share(
        sum((AS_OF - d).days > 365 for d in last), n
    )
    assert metrics["updates.not_since_2015"].value == share(sum(d.year <= 2015 for d in last), n)
    assert metrics["metadata.no_agency"].value == share(sum(r.code is None for r in found), n)
    automated = sum(bool(r.current_source and r.current_source.startswith("feed:")) for r in found)
    assert metrics["updates.automated"].value == share(automated, n)
    # The demo was built to the plan's own findings: about 17%, 70%, 30% and a quarter.
    assert 0.14 <= metrics["updates.last_30_days"].value <= 0.20
    assert 0.25 <= metrics["metadata.no_agency"].value <= 0.30


def test_disaggregation_matches(demo):
    installation, metrics = demo
    found = public_rows(installation)
    dims = [set(service_json(r.demographic_dimensions)) for r in found]
    n = len(found)
    equity = {"race", "ethnicity", "sex", "gender-identity"}
    assert metrics["disaggregation.race"].value == share(sum("race" in d for d in dims), n)
    assert metrics["disaggregation.ethnicity"].value == share(
        sum("ethnicity" in d for d in dims), n
    )
    assert metrics["disaggregation.gender"].value == share(
        sum(bool(d & {"sex", "gender-identity"}) for d in dims), n
    )
    assert metrics["disaggregation.intersection"].value == share(
        sum(len(d & equity) >= 2 for d in dims), n
    )
    assert metrics["disaggregation.race"].value > 0


def service_json(value) -> list:  # type: ignore[no-untyped-def]
    import json

    return json.loads(value) if isinstance(value, str) else (value or [])


def test_freshness_figures_match_the_freshness_report(demo):
    installation, metrics = demo
    with installation.catalog.session() as session:
        found = [
            r
            for r in freshness_rows(session, AS_OF)
            if r.classification == "public"
            and r.access_level == "public"
            and r.publication_state == "published"
            and r.dataset_status not in ("archived", "retired")
        ]
    scheduled = [r for r in found if r.status.value in ("fresh", "due", "overdue", "stale")]
    on_time = [r for r in scheduled if r.status.value in ("fresh", "due")]
    assert metrics["updates.on_schedule"].value == share(len(on_time), len(scheduled))
    late = [r.days_late for r in found if r.status.value in ("overdue", "stale")]
    assert metrics["updates.median_days_late"].value == round(statistics.median(late), 1)


def test_quality_figures_match_each_datasets_own_score(demo):
    installation, metrics = demo
    with installation.catalog.session() as session:
        public = [
            d
            for d in service.list_datasets(session)
            if d.classification == "public"
            and d.access_level == "public"
            and d.publication_state == "published"
            and d.status not in ("archived", "retired")
        ]
        scores = [quality.score(d, AS_OF) for d in public]
    assert metrics["metadata.quality_mean"].value == round(
        sum(s.total for s in scores) / len(scores), 1
    )
    assert metrics["metadata.required_complete"].value == share(
        sum(s.required_metadata_complete for s in scores), len(scores)
    )


def test_suggestion_figures_match(demo):
    installation, metrics = demo
    end = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time(), dt.UTC)
    start = end - dt.timedelta(days=30)
    with installation.catalog.engine.connect() as con:
        made = con.execute(
            text("SELECT id, status, created_at FROM suggestions WHERE created_at < :end"),
            {"end": end},
        ).all()
    assert made, "the demo has suggestions"

    def aware(value) -> dt.datetime:  # type: ignore[no-untyped-def]
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    recent = sum(start <= aware(r.created_at) for r in made)
    assert metrics["suggestions.received"].value == recent
    statuses = Counter(r.status for r in made)
    assert metrics["suggestions.published"].value == share(statuses["published"], len(made))
    assert metrics["suggestions.declined"].value == share(statuses["declined"], len(made))
    assert metrics["suggestions.open"].value == sum(
        statuses[s] for s in ("received", "under_review", "planned")
    )


def test_time_to_fulfil_matches_the_request_history(demo):
    installation, metrics = demo
    with installation.catalog.engine.connect() as con:
        events = con.execute(
            text(
                "SELECT request_id, to_stage, occurred_at FROM data_request_events "
                "ORDER BY occurred_at, id"
            )
        ).all()

    def moment(value) -> dt.datetime:  # type: ignore[no-untyped-def]
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    submitted: dict[int, dt.datetime] = {}
    days = []
    for request_id, stage, at in events:
        if stage == "submitted" and request_id not in submitted:
            submitted[request_id] = moment(at)
        if stage == "completed" and request_id in submitted:
            days.append((moment(at) - submitted[request_id]).total_seconds() / 86_400)
    assert days, "the demo has completed requests"
    assert metrics["requests.days_to_fulfil"].value == pytest.approx(
        statistics.median(days), abs=0.01
    )
