"""dichvucong.deliveries on SQLite: a delivery key is accepted once, across instances and threads."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from dichvucong.deliveries import KEY_LENGTH, Deliveries, stored_key
from dichvucong.dossiers.models import ChannelDelivery
from dichvucong.dossiers.store import migrate

T0 = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'dossiers.db'}"
    migrate(url)
    return url


def test_a_key_is_new_once(url):
    deliveries = Deliveries(url)
    assert deliveries.first_time("msg:1", "zalo", T0)
    assert not deliveries.first_time("msg:1", "zalo", T0 + dt.timedelta(minutes=5))
    assert deliveries.first_time("msg:2", "zalo", T0)
    deliveries.dispose()


def test_a_second_instance_on_the_same_file_sees_the_first_ones_keys(url):
    """What a restart, or a second replica, sees."""
    first, second = Deliveries(url), Deliveries(url)
    assert first.first_time("update:42:7", "telegram", T0)
    assert not second.first_time("update:42:7", "telegram", T0)
    first.dispose()
    second.dispose()


def test_two_instances_racing_on_the_same_keys_accept_each_once(url):
    instances = [Deliveries(url), Deliveries(url)]
    keys = [f"msg:race-{n}" for n in range(25)]
    results = {key: [] for key in keys}
    barrier = threading.Barrier(len(instances))
    errors = []

    def worker(deliveries):
        try:
            for key in keys:
                barrier.wait(10)  # both insert the same key at the same moment
                results[key].append(deliveries.first_time(key, "zalo", T0))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(d,)) for d in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert all(sorted(accepted) == [False, True] for accepted in results.values()), results
    for deliveries in instances:
        deliveries.dispose()


def test_prune_forgets_only_the_old_keys(url):
    deliveries = Deliveries(url)
    deliveries.first_time("old", "zalo", T0)
    deliveries.first_time("recent", "zalo", T0 + dt.timedelta(hours=30))
    assert deliveries.prune(T0 + dt.timedelta(hours=24)) == 1
    assert deliveries.first_time("old", "zalo", T0 + dt.timedelta(hours=31))  # new again
    assert not deliveries.first_time("recent", "zalo", T0 + dt.timedelta(hours=31))
    assert deliveries.prune(T0) == 0
    deliveries.dispose()


def test_rows_hold_the_channel_and_an_aware_utc_time(url):
    deliveries = Deliveries(url)
    local = T0.astimezone(dt.timezone(dt.timedelta(hours=7)))
    deliveries.first_time("msg:tz", "zalo", local)
    with deliveries.engine.connect() as connection:
        row = connection.execute(select(ChannelDelivery.__table__)).one()
    assert row.channel == "zalo" and row.key == "msg:tz"
    deliveries.dispose()


def test_a_key_longer_than_the_column_is_stored_as_its_digest(url):
    long_key = "event:" + "x" * 1000
    assert len(stored_key(long_key)) <= KEY_LENGTH and stored_key("msg:1") == "msg:1"
    deliveries = Deliveries(url)
    assert deliveries.first_time(long_key, "zalo", T0)
    assert not deliveries.first_time(long_key, "zalo", T0)
    deliveries.dispose()


def test_naive_times_are_refused(url):
    deliveries = Deliveries(url)
    with pytest.raises(ValueError):
        deliveries.first_time("msg:naive", "zalo", dt.datetime(2026, 11, 26))
    deliveries.dispose()


def test_a_missing_table_raises_rather_than_claiming_a_duplicate(tmp_path):
    deliveries = Deliveries(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(Exception) as raised:
        deliveries.first_time("msg:1", "zalo", T0)
    assert "IntegrityError" not in type(raised.value).__name__
    deliveries.dispose()
