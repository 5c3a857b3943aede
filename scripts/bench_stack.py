"""One assistant stack for `make bench`: an action server and a Rasa server.

Each stack gets its own ports, dossier database and SQL tracker store in its
own work directory, so two stacks can be loaded in the same run without
sharing anything but the CPU. ``endpoints`` picks the configuration: ours
(endpoints.yml: the redacting tracker store and its hot-path fixes) or Rasa's
stock SQL tracker store for the default configuration.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port  # noqa: E402

BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Rasa's stock SQL tracker store: what the default configuration runs on.
STOCK_ENDPOINTS = """\
action_endpoint:
  url: http://127.0.0.1:${ACTION_PORT}/webhook
  headers:
    X-Action-Token: ${ACTION_SERVER_TOKEN}
tracker_store:
  type: SQL
  dialect: sqlite
  db: ${TRACKER_DB}
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Stack:
    def __init__(self, name: str, model: Path, workdir: Path, stock: bool = False,
                 extra_env: Optional[Dict[str, str]] = None) -> None:
        self.name = name
        self.model = model
        self.workdir = workdir
        self.stock = stock
        self.extra_env = extra_env or {}
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.processes: List[subprocess.Popen] = []
        self.ready_seconds = 0.0
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="2",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            ACTION_PORT=str(self.action_port),
            TRACKER_DIALECT="sqlite",
            TRACKER_DB=str(self.workdir / "tracker.db"),
            DATABASE_URL=f"sqlite:///{self.workdir / 'dossiers.db'}",
            RASA_API_TOKEN="bench-" + os.urandom(6).hex(),
            ACTION_SERVER_TOKEN="bench-action-" + os.urandom(6).hex(),
            ASSISTANT_SECRET="bench-secret-" + os.urandom(12).hex(),
            SANIC_REQUEST_MAX_SIZE="1048576",
            ASSISTANT_TODAY=os.environ.get("ASSISTANT_TODAY", "2026-11-26"),
        )
        env.update(self.extra_env)
        return env

    def _endpoints(self) -> Path:
        if not self.stock:
            return ROOT / "endpoints.yml"
        path = self.workdir / "endpoints.stock.yml"
        path.write_text(STOCK_ENDPOINTS)
        return path

    def _spawn(self, args: List[str], log: str, env: Dict[str, str]) -> subprocess.Popen:
        handle = open(self.workdir / log, "wb")
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    @staticmethod
    def _wait(url: str, process: subprocess.Popen, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except Exception:
                time.sleep(0.25)
        raise TimeoutError(f"{url} did not come up in {timeout:.0f} s")

    def start(self) -> Stack:
        env = self.env()
        subprocess.run([sys.executable, "-m", "bot.cli.dossiers", "seed-demo"], cwd=ROOT,
                       env=env, check=True, capture_output=True, timeout=300)
        self.actions = self._spawn(
            [sys.executable, "-m", "actions.server", "--port", str(self.action_port)],
            "actions.log", env)
        self._wait(f"http://127.0.0.1:{self.action_port}/health", self.actions, 300)
        started = time.time()
        self.rasa = self._spawn(
            [str(BIN / "rasa"), "run", "--model", str(self.model), "--endpoints",
             str(self._endpoints()), "--credentials", str(ROOT / "credentials.yml"),
             "--port", str(self.rasa_port), "--interface", "127.0.0.1"],
            "rasa.log", env)
        self._wait(f"{self.url}/webhooks/rest/", self.rasa, 600)
        self.ready_seconds = time.time() - started
        return self

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes)

    def rss(self) -> float:
        return rss_mb(self.rasa.pid)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
