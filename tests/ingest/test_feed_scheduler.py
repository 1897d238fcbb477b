"""The scheduler on SQLite and PostgreSQL: the lease lets one scheduler work at a time (also
when several race for it from threads and from separate processes), each due feed is claimed
by exactly one, and a round runs what is due and nothing else."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, update

from statedata.access.policy import Actor, Role
from statedata.catalog import DatasetMetadata
from statedata.catalog.feeds import Feed, FeedRun, SchedulerLease
from statedata.ingest import open_table
from statedata.ingest.feeds import NewFeed, create_feed
from statedata.ingest.feeds.reach import Reach
from statedata.ingest.feeds.scheduler import (
    claim,
    due_feeds,
    release_lease,
    run_round,
    serve,
    take_lease,
)
from statedata.storage import NewDataset, publish

OPERATOR = Actor(name="operator", roles=frozenset({Role.CDO}))
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def folder_feeds(installation, write_file, tmp_path: Path, count: int) -> list[int]:
    """`count` datasets, each with a folder feed that has one file waiting, all due now."""
    made = []
    for number in range(count):
        path = write_file(f"first{number}.csv", "town,cases\nAndover,1\n")
        dataset_id = publish(
            installation,
            open_table(path),
            new=NewDataset(DatasetMetadata(title=f"Cases {number}"), "DPH"),
        ).dataset_id
        drop = installation.settings.drop_root / f"drop{number}"
        drop.mkdir(parents=True)
        (drop / "new.csv").write_text(f"town,cases\nAndover,{number + 10}\n")
        with installation.catalog.session() as session:
            new = NewFeed(kind="folder", source={"path": str(drop)}, schedule="0 6 * * *")
            reach = Reach.of(installation.settings)
            made.append(create_feed(session, OPERATOR, dataset_id, new, reach=reach).id)
    make_due(installation)
    return made


def make_due(installation, when: dt.datetime | None = None) -> None:
    with installation.catalog.session() as session:
        session.execute(
            update(Feed).values(
                next_run_at=when or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            )
        )


def run_counts(installation) -> dict[int, int]:
    with installation.catalog.session() as session:
        counts: dict[int, int] = {}
        for run in session.scalars(select(FeedRun)):
            counts[run.feed_id] = counts.get(run.feed_id, 0) + 1
        return counts


# The lease ----------------------------------------------------------------------------------


def test_lease_is_held_by_one_until_it_expires(installation):
    assert take_lease(installation, "first", 60, NOW)
    assert take_lease(installation, "first", 60, NOW + dt.timedelta(seconds=30))  # renewed
    assert not take_lease(installation, "second", 60, NOW + dt.timedelta(seconds=60))
    # Expired: the second takes it over, and the first can no longer renew.
    assert take_lease(installation, "second", 60, NOW + dt.timedelta(seconds=91))
    assert not take_lease(installation, "first", 60, NOW + dt.timedelta(seconds=92))
    with installation.catalog.session() as session:
        assert session.scalar(select(SchedulerLease.holder)) == "second"


def test_released_lease_can_be_taken_at_once(installation):
    assert take_lease(installation, "first", 600)
    release_lease(installation, "first")
    assert take_lease(installation, "second", 600)


@pytest.mark.parametrize("expired", [False, True], ids=["new lease", "expired lease"])
def test_many_schedulers_racing_for_the_lease_one_wins(installation, expired):
    if expired:
        assert take_lease(installation, "old", 1, NOW - dt.timedelta(hours=1))
    barrier = threading.Barrier(8)
    wins: list[str] = []
    errors: list[BaseException] = []

    def race(name: str) -> None:
        try:
            barrier.wait()
            if take_lease(installation, name, 300, NOW):
                wins.append(name)
        except BaseException as error:  # a database error must fail the test, not vanish
            errors.append(error)

    threads = [threading.Thread(target=race, args=(f"s{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(wins) == 1
    with installation.catalog.session() as session:
        assert session.scalar(select(SchedulerLease.holder)) == wins[0]


# Claims -------------------------------------------------------------------------------------


def test_racing_claims_on_one_feed_give_it_to_exactly_one(
    installation, agency, write_file, tmp_path
):
    (feed_id,) = folder_feeds(installation, write_file, tmp_path, 1)
    now = dt.datetime.now(dt.UTC)
    barrier = threading.Barrier(8)
    won: list[str] = []

    def race() -> None:
        barrier.wait()
        trigger = claim(installation, feed_id, now)
        if trigger is not None:
            won.append(trigger)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won == ["schedule"]
    assert due_feeds(installation, now) == []


def test_two_schedulers_with_stale_views_never_run_a_feed_twice(
    installation, agency, write_file, tmp_path
):
    """Both saw the same feeds due (as two schedulers would whose lease views were stale) and
    go through them at once: the claim lets each feed run once."""
    from statedata.ingest.feeds import run_feed

    feed_ids = folder_feeds(installation, write_file, tmp_path, 4)
    now = dt.datetime.now(dt.UTC)
    seen = due_feeds(installation, now)
    assert sorted(seen) == sorted(feed_ids)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            barrier.wait()
            for feed_id in seen:
                trigger = claim(installation, feed_id, now)
                if trigger is not None:
                    run_feed(installation, feed_id, trigger=trigger)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert run_counts(installation) == dict.fromkeys(feed_ids, 1)


def test_two_scheduler_threads_run_each_due_feed_once(installation, agency, write_file, tmp_path):
    feed_ids = folder_feeds(installation, write_file, tmp_path, 3)
    barrier = threading.Barrier(2)

    def scheduler() -> None:
        barrier.wait()
        serve(installation, once=True)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert run_counts(installation) == dict.fromkeys(feed_ids, 1)
    with installation.catalog.session() as session:
        assert {r.trigger for r in session.scalars(select(FeedRun))} == {"schedule"}


def test_two_scheduler_processes_run_each_due_feed_once(installation, agency, write_file, tmp_path):
    feed_ids = folder_feeds(installation, write_file, tmp_path, 3)
    statedata = Path(sys.executable).with_name("statedata")
    env = {**os.environ, "STATEDATA_HOME": str(installation.settings.home)}
    if installation.settings.database_url:
        env["STATEDATA_DATABASE_URL"] = installation.settings.database_url
    processes = [
        subprocess.Popen(
            [str(statedata), "scheduler", "--once"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert run_counts(installation) == dict.fromkeys(feed_ids, 1)


# Rounds -------------------------------------------------------------------------------------


def test_a_round_runs_due_feeds_only(installation, agency, write_file, tmp_path):
    due, later, disabled = folder_feeds(installation, write_file, tmp_path, 3)
    with installation.catalog.session() as session:
        session.get(Feed, later).next_run_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        session.get(Feed, disabled).enabled = False
    report = run_round(installation, "only")
    assert report.held_lease and report.ran == [due]
    assert run_counts(installation) == {due: 1}
    # Its file is taken: the feed is back on its schedule, not due again.
    assert run_round(installation, "only").ran == []


def test_a_round_without_the_lease_runs_nothing(installation, agency, write_file, tmp_path):
    folder_feeds(installation, write_file, tmp_path, 1)
    assert take_lease(installation, "other", 600)
    report = run_round(installation, "me")
    assert not report.held_lease and report.ran == []
    assert run_counts(installation) == {}


def test_a_failing_run_does_not_stop_the_round(installation, agency, write_file, tmp_path):
    first, second = folder_feeds(installation, write_file, tmp_path, 2)
    called = []

    def flaky(installation, feed_id, trigger):  # type: ignore[no-untyped-def]
        called.append(feed_id)
        if feed_id == first:
            raise RuntimeError("a bug in a run")
        return {}

    report = run_round(installation, "me", run=flaky)
    assert sorted(called) == sorted([first, second]) and sorted(report.ran) == sorted(called)


def test_scheduler_command_runs_one_round(installation, agency, write_file, tmp_path):
    (feed_id,) = folder_feeds(installation, write_file, tmp_path, 1)
    statedata = Path(sys.executable).with_name("statedata")
    env = {**os.environ, "STATEDATA_HOME": str(installation.settings.home)}
    if installation.settings.database_url:
        env["STATEDATA_DATABASE_URL"] = installation.settings.database_url
    done = subprocess.run(
        [str(statedata), "scheduler", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"[{feed_id}]" in done.stderr
    assert run_counts(installation) == {feed_id: 1}
    with installation.catalog.session() as session:
        lease = session.get(SchedulerLease, "feeds")
        expires = lease.expires_at.replace(tzinfo=lease.expires_at.tzinfo or dt.UTC)
        assert expires <= dt.datetime.now(dt.UTC)  # given up on the way out


def test_scheduler_stops_on_sigterm_and_gives_the_lease_up(installation, agency):
    import signal
    import time

    statedata = Path(sys.executable).with_name("statedata")
    env = {**os.environ, "STATEDATA_HOME": str(installation.settings.home)}
    if installation.settings.database_url:
        env["STATEDATA_DATABASE_URL"] = installation.settings.database_url
    process = subprocess.Popen(
        [str(statedata), "scheduler", "--interval", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        holder = None
        while holder is None and time.monotonic() < deadline:
            with installation.catalog.session() as session:
                holder = session.scalar(select(SchedulerLease.holder))
            time.sleep(0.2)
        assert holder is not None, "the scheduler never took the lease"
        assert not take_lease(installation, "second", 60)  # it is held
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "Scheduler stopped." in stderr
    assert take_lease(installation, "second", 60)  # given up on the way out


def test_a_round_folds_the_catalogs_counted_writes_and_keeps_the_mark(
    installation, agency, write_file, tmp_path
):
    """Each feed run is a writing transaction: on PostgreSQL a row each in catalog_changes,
    which the round folds into one row per table; the mark stays what it was."""
    from statedata.catalog.changes import change_mark

    folder_feeds(installation, write_file, tmp_path, 2)
    report = run_round(installation, "me")
    assert report.held_lease and len(report.ran) == 2
    with installation.catalog.session() as session:
        mark = change_mark(session)
    again = run_round(installation, "me")
    with installation.catalog.session() as session:
        assert change_mark(session) == mark
    if installation.catalog.engine.dialect.name == "postgresql":
        assert report.counts_folded > 0
    else:
        assert report.counts_folded == 0
    assert again.counts_folded == 0  # the first round folded them all
