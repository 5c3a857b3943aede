"""Start the real action server and Rasa server on free loopback ports for tests."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# ASSISTANT_TEST_MODEL lets a developer test a model trained elsewhere (make test
# always uses the one it trained).
MODEL = Path(os.environ.get("ASSISTANT_TEST_MODEL") or ROOT / "models" / "current.tar.gz")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(
    method: str,
    url: str,
    body: Any | None = None,
    raw: bytes | None = None,
    headers: Dict[str, str] | None = None,
):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Assistant:
    """Both servers as subprocesses, as `make run` starts them."""

    def __init__(
        self,
        workdir: Path,
        credentials: Path | None = None,
        extra_env: Dict[str, str] | None = None,
        endpoints: Path | None = None,
    ):
        """``credentials`` replaces credentials.yml (e.g. to add a channel pointed at a
        fake platform API); ``extra_env`` is added to both servers' environment."""
        self.workdir = workdir
        self.credentials = credentials or ROOT / "credentials.yml"
        # ``endpoints`` replaces endpoints.yml (e.g. a PostgreSQL tracker store).
        self.endpoints = endpoints or ROOT / "endpoints.yml"
        self.extra_env = extra_env or {}
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.tracker_db = workdir / "tracker.db"
        self.database_url = f"sqlite:///{workdir / 'dossiers.db'}"
        self.token = "test-token-" + os.urandom(6).hex()
        self.action_token = "action-token-" + os.urandom(6).hex()
        self.secret = "secret-" + os.urandom(12).hex()
        self.sessions: Dict[str, Dict[str, str]] = {}
        self.processes: List[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
            ACTION_PORT=str(self.action_port),
            TRACKER_DIALECT="sqlite",
            TRACKER_DB=str(self.tracker_db),
            DATABASE_URL=self.database_url,
            RASA_API_TOKEN=self.token,
            RASA_URL=self.url,
            ACTION_SERVER_TOKEN=self.action_token,
            ASSISTANT_SECRET=self.secret,
            SANIC_REQUEST_MAX_SIZE="1048576",
            ASSISTANT_TODAY=os.environ.get("ASSISTANT_TODAY", "2026-11-26"),
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, args: List[str], log: str) -> subprocess.Popen:
        env = self.env()
        handle = open(self.workdir / log, "wb")
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def _wait(self, url: str, process: subprocess.Popen, log: str, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError((self.workdir / log).read_text()[-3000:])
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except Exception:
                time.sleep(0.5)
        raise TimeoutError(f"{url} did not come up; see {self.workdir / log}")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """The staff CLI against this assistant's dossier database."""
        return subprocess.run(
            [sys.executable, "-m", "bot.cli.dossiers", *args],
            cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=120,
        )

    def start(self) -> Assistant:
        seeded = self.cli("seed-demo")
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        actions = self._spawn(
            [sys.executable, "-m", "actions.server", "--port", str(self.action_port)],
            "actions.log",
        )
        rasa = self._spawn(
            [
                str(BIN / "rasa"), "run", "--model", str(MODEL), "--endpoints", str(self.endpoints),
                "--credentials", str(self.credentials), "--port", str(self.rasa_port),
                "--interface", "127.0.0.1", "--enable-api", "--auth-token", self.token,
            ],
            "rasa.log",
        )
        self._wait(f"http://127.0.0.1:{self.action_port}/health", actions, "actions.log", 120)
        self._wait(f"{self.url}/webhooks/webchat/", rasa, "rasa.log", 300)
        return self

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def session(self, sender: str) -> Dict[str, str]:
        """The web chat session standing for the test's name ``sender``."""
        if sender not in self.sessions:
            status, body = http("POST", f"{self.url}/webhooks/webchat/session")
            assert status == 200, body
            self.sessions[sender] = json.loads(body)
        return self.sessions[sender]

    def conversation(self, sender: str) -> str:
        """The tracker id of the web chat conversation ``sender``."""
        return "webchat:" + self.session(sender)["sender"]

    def say(self, sender: str, message: str) -> List[Dict[str, Any]]:
        session = self.session(sender)
        status, body = http("POST", f"{self.url}/webhooks/webchat/webhook",
                            {"sender": session["sender"], "token": session["token"],
                             "message": message})
        assert status == 200, body
        return json.loads(body)

    def updates(self, sender: str, after: float = 0) -> Dict[str, Any]:
        session = self.session(sender)
        status, body = http(
            "GET",
            f"{self.url}/webhooks/webchat/updates?sender={session['sender']}&after={after}",
            headers={"X-Webchat-Token": session["token"]},
        )
        assert status == 200, body
        return json.loads(body)

    def parse(self, text: str) -> Dict[str, Any]:
        status, body = http("POST", f"{self.url}/model/parse?token={self.token}", {"text": text})
        assert status == 200, body
        return json.loads(body)
