"""The Zalo token pair kept in Redis, for replicas that share no disk (real Redis,
the local fake of Zalo's OAuth API)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import redis

from bot.channels.zalo import ZaloInput, ZaloTokenManager
from bot.channels.zalo.token_state import RedisTokenState
from tests.support.fake_zalo import FakeZalo

APP_ID = "1234567890123456789"
APP_SECRET = "fake-app-secret"
REDIS_URL = "redis://127.0.0.1:6379/3"
KEY = f"zalo:oa_token:{APP_ID}"


@pytest.fixture
def store():
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(KEY, KEY + ":lock")
    yield client
    client.delete(KEY, KEY + ":lock")
    client.close()


@pytest.fixture
def fake():
    with FakeZalo(app_id=APP_ID, app_secret=APP_SECRET) as server:
        yield server


def replica(fake: FakeZalo, disk: Path, access: str = "access-0", refresh: str = "refresh-0",
            url: str = REDIS_URL) -> ZaloTokenManager:
    # Each replica has its own disk: only Redis is shared.
    return ZaloTokenManager(APP_ID, APP_SECRET, access, refresh, fake.url,
                            str(disk / "zalo_token.json"), token_store=url)


async def test_two_replicas_without_a_shared_disk_spend_the_refresh_token_once(
        fake, store, tmp_path):
    fake.refresh_delay = 0.3
    first, second = replica(fake, tmp_path / "a"), replica(fake, tmp_path / "b")
    results = await asyncio.gather(first.refresh("access-0"), second.refresh("access-0"),
                                   first.refresh("access-0"))
    assert fake.refresh_count == 1 and len(fake.refreshes) == 1
    assert set(results) == {fake.current_access_token}
    saved = json.loads(store.get(KEY))
    assert saved["access_token"] == fake.current_access_token
    assert saved["refresh_token"] == "refresh-1"
    assert store.get(KEY + ":lock") is None  # released
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


async def test_a_replica_started_later_uses_the_pair_in_redis(fake, store, tmp_path):
    await replica(fake, tmp_path / "a").refresh(rejected="access-0")
    later = replica(fake, tmp_path / "b")
    assert await later.access_token() == fake.current_access_token
    assert await later.refresh(rejected=fake.current_access_token) == "access-2"
    assert [r["refresh_token"] for r in fake.refreshes] == ["refresh-0", "refresh-1"]


async def test_new_tokens_in_credentials_supersede_the_pair_in_redis(fake, store, tmp_path):
    await replica(fake, tmp_path / "a").refresh(rejected="access-0")
    reauthorised = replica(fake, tmp_path / "b", access="access-new", refresh="refresh-new")
    assert await reauthorised.access_token() == "access-new"


async def test_with_redis_down_the_credentials_token_is_used_and_no_refresh_is_spent(
        fake, tmp_path, caplog):
    down = replica(fake, tmp_path / "a", url="redis://127.0.0.1:9/0")
    assert await down.access_token() == "access-0"
    # Spending the single-use refresh token where no replica could find its
    # successor would break the chain: the refresh waits for Redis.
    assert await down.refresh(rejected="access-0") is None
    assert fake.refreshes == []
    assert "token store unavailable" in caplog.text


async def test_a_lock_left_by_a_killed_replica_expires(fake, store, tmp_path):
    tokens = replica(fake, tmp_path / "a")
    tokens.state = RedisTokenState(REDIS_URL, KEY, hold_seconds=1)
    store.set(KEY + ":lock", "someone-who-died", px=800)
    assert await tokens.refresh(rejected="access-0") == fake.current_access_token
    assert fake.refresh_count == 1


def test_a_token_store_that_is_not_redis_is_refused():
    with pytest.raises(ValueError, match="token_store"):
        ZaloInput.from_credentials({"app_id": APP_ID, "access_token": "a",
                                    "oa_secret_key": "k", "token_store": "/tmp/tokens"})
