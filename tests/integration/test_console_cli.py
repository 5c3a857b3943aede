"""The console's command line: accounts, migration, serving, train-compare.

``train-compare`` runs here with a stand-in ``rasa train`` that copies the
project's trained model (the real training of a small model runs once, in
the browser test); the evaluation of both models on held-out data is real.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from bot.console import cli
from bot.console.db import Database, TrainingJob
from bot.console.training import compare, parse_progress
from tests.support.console import (
    PASSWORD,
    ROOT,
    fake_rasa_bin,
    make_workspace,
)
from tests.support.servers import MODEL, free_port


def _env(tmp_path, **extra):
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        RASA_TELEMETRY_ENABLED="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'console.db'}",
        TRACKER_DB=str(tmp_path / "tracker.db"),
        RASA_URL="http://127.0.0.1:9",
        **extra,
    )
    return env


def run(tmp_path, *args, stdin=None, **extra):
    return subprocess.run(
        [sys.executable, "-m", "bot.console", *args],
        cwd=ROOT, env=_env(tmp_path, **extra), input=stdin, capture_output=True, text=True,
        timeout=600,
    )


def test_users_add_list_disable(tmp_path):
    added = run(tmp_path, "users", "add", "Lan.Tran", "--role", "trainer", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "Đã tạo tài khoản lan.tran (Người huấn luyện)" in added.stdout
    assert run(tmp_path, "users", "add", "minh", "--role", "reviewer", "--password-stdin",
               stdin=PASSWORD + "\n").returncode == 0
    again = run(tmp_path, "users", "add", "lan.tran", "--role", "reviewer", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "đã tồn tại" in again.stderr
    short = run(tmp_path, "users", "add", "ngan", "--role", "reviewer", "--password-stdin",
                stdin="ngan\n")
    assert short.returncode == 2 and "ít nhất 10 ký tự" in short.stderr
    role = run(tmp_path, "users", "add", "x1", "--role", "admin", "--password-stdin",
               stdin=PASSWORD + "\n")
    assert role.returncode == 2
    assert run(tmp_path, "users", "disable", "minh").returncode == 0
    listing = run(tmp_path, "users", "list")
    assert re.search(r"lan\.tran\s+Người huấn luyện\s+đang dùng", listing.stdout)
    assert re.search(r"minh\s+Người duyệt\s+đã vô hiệu hóa", listing.stdout)
    assert run(tmp_path, "users", "disable", "khong-co").returncode == 2
    db = Database(f"sqlite:///{tmp_path / 'console.db'}")
    with db.engine.connect() as connection:
        hashes = [r[0] for r in connection.execute(sa.text("SELECT password_hash FROM console_users"))]
    db.dispose()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_password_is_asked_twice(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'console.db'}")
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(answers))
    assert cli.main(["users", "add", "hoa", "--role", "reviewer"]) == 2
    assert "không khớp" in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert cli.main(["users", "add", "hoa", "--role", "reviewer"]) == 0


def test_migrate_creates_the_console_tables(tmp_path):
    done = run(tmp_path, "migrate")
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'console.db'}")
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"console_users", "console_sessions", "throttle_scopes",
            "console_annotations", "console_training_jobs", "console_model_versions",
            "dossiers"} <= tables


def test_serve_prints_its_address_and_needs_login(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.console"], cwd=ROOT,
        env=_env(tmp_path, CONSOLE_PORT=str(port)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        first = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as page:
                    assert page.status == 200
                    break
            except urllib.error.URLError:
                assert time.time() < deadline and process.poll() is None
                time.sleep(0.3)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/conversations", timeout=5)
        assert refused.value.code == 401
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_progress_lines_and_comparison():
    assert parse_progress("Epochs:  40%|████      | 32/80 [00:10<00:15,  3.1it/s]") == 40
    assert parse_progress("Epochs: 100%|██████████| 2/2 [00:17<00:00]") == 100
    assert parse_progress("Processed trackers: 100%|██████████| 27/27") is None
    candidate = {"intent_accuracy": 0.9, "clarification_rate": 0.05,
                 "per_intent": {"ask_fee": {"precision": 1.0, "recall": 0.8, "f1": 0.889,
                                            "support": 5}}}
    current = {"intent_accuracy": 0.8, "clarification_rate": 0.10,
               "per_intent": {"ask_fee": {"precision": 0.5, "recall": 0.8, "f1": 0.615,
                                          "support": 5}}}
    result = compare(candidate, current)
    rows = {r["key"]: r for r in result["overall"]}
    assert rows["intent_accuracy"]["delta"] == pytest.approx(0.1)
    assert rows["intent_accuracy"]["better"] is True
    assert rows["clarification_rate"]["better"] is True  # fewer clarifications is better
    fee = result["per_intent"][0]
    assert fee["delta_precision"] == pytest.approx(0.5) and fee["delta_recall"] == 0
    assert compare(candidate, None)["overall"][0]["delta"] is None


def test_train_compare_runs_a_job_with_progress_and_evaluation(tmp_path):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test trains it first)")
    workspace = make_workspace(tmp_path / "workspace", heldout=("heldout_long.yml",))
    shutil.copy2(MODEL, workspace.models / "current.tar.gz")
    rasa = fake_rasa_bin(tmp_path, MODEL)
    done = run(tmp_path, "train-compare", CONSOLE_RASA_BIN=str(rasa), **workspace.env())
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Công việc huấn luyện #1" in out
    assert "Huấn luyện mô hình (DIET 50%)" in out
    assert "Đánh giá trên tập kiểm tra" in out and "[100%] Hoàn tất" in out
    assert re.search(r"Độ chính xác ý định\s+\d+\.\d%\s+\d+\.\d%\s+\+0\.0", out)
    db = Database(f"sqlite:///{tmp_path / 'console.db'}")
    with db.session() as session:
        job = session.get(TrainingJob, 1)
        version = job.version
        assert (job.status, job.progress) == ("done", 100)
        result = job.result
    db.dispose()
    assert (workspace.models / "candidates" / f"{version}.tar.gz").exists()
    # The same model on both sides: every difference is zero.
    assert all(r["delta"] in (0, None) for r in result["comparison"]["overall"])
    assert result["candidate"]["n"] == 42 and result["heldout"] == ["heldout_long.yml"]
    assert json.dumps(result)  # stored as JSON
    # A failing training is reported and leaves the job failed.
    broken = fake_rasa_bin(tmp_path, tmp_path / "missing.tar.gz")
    failed = run(tmp_path, "train-compare", CONSOLE_RASA_BIN=str(broken), **workspace.env())
    assert failed.returncode == 1
    assert "rasa train thất bại" in failed.stdout
