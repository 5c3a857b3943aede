"""The scale-out topology on one machine: `make cluster` and the fault tests.

Two Rasa replicas and two action servers behind haproxy (deploy/haproxy.cfg),
the PostgreSQL tracker store and dossier database, Rasa's Redis lock store
(endpoints.cluster.yml). Everything a replica shares with the other lives in
PostgreSQL or Redis, so any replica can serve any message of any conversation.

  python scripts/cluster.py            # start, print the addresses, run until Ctrl-C

Ports (fixed for `make cluster`, away from `make run`'s 5005/5055/5080):
CLUSTER_PORT (8405: haproxy for citizens' channels; replicas on +1, +2;
haproxy for the action servers on +50, action servers on +51, +52).
CLUSTER_POSTGRES_URL names the server (default: local postgres user),
CLUSTER_NAME prefixes the databases and Redis keys (default "assistant_cluster").
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _token() -> str:
    return os.urandom(18).hex()


class Cluster:
    def __init__(self, workdir: Path, port: int = 8405, name: str = "assistant_cluster",
                 model: Optional[Path] = None, postgres_url: Optional[str] = None,
                 interface: str = "127.0.0.1", ports: Optional[Dict[str, int]] = None,
                 extra_env: Optional[Dict[str, str]] = None) -> None:
        """``ports`` replaces the fixed ports (tests pick free ones); ``extra_env``
        is added to every process's environment."""
        self.workdir = workdir
        self.extra_env = extra_env or {}
        self.name = name
        self.model = model or ROOT / "models" / "current.tar.gz"
        self.pg = make_url(postgres_url or os.environ.get("CLUSTER_POSTGRES_URL", DEFAULT_PG))
        self.interface = interface
        self.ports = {"lb": port, "rasa1": port + 1, "rasa2": port + 2,
                      "action_lb": port + 50, "actions1": port + 51, "actions2": port + 52}
        self.ports.update(ports or {})
        self.processes: Dict[str, subprocess.Popen] = {}
        self.secrets = {"RASA_API_TOKEN": os.environ.get("RASA_API_TOKEN") or _token(),
                        "ACTION_SERVER_TOKEN": os.environ.get("ACTION_SERVER_TOKEN") or _token(),
                        "ASSISTANT_SECRET": os.environ.get("ASSISTANT_SECRET") or _token()}
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['lb']}"

    def replica_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def tracker_db(self) -> str:
        return f"{self.name}_tracker"

    @property
    def dossier_url(self) -> str:
        return self.pg.set(database=f"{self.name}_dossiers").render_as_string(hide_password=False)

    @property
    def tracker_url(self) -> str:
        return self.pg.set(database=self.tracker_db).render_as_string(hide_password=False)

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(self.secrets)
        env.update(
            PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2",
            SQLALCHEMY_SILENCE_UBER_WARNING="1", SANIC_REQUEST_MAX_SIZE="1048576",
            ACTION_SERVER_URL=f"http://127.0.0.1:{self.ports['action_lb']}/webhook",
            TRACKER_HOST=self.pg.host or "127.0.0.1", TRACKER_PORT=str(self.pg.port or 5432),
            TRACKER_DB=self.tracker_db, TRACKER_USER=self.pg.username or "postgres",
            TRACKER_PASSWORD=self.pg.password or "",
            REDIS_HOST=os.environ.get("REDIS_HOST", "127.0.0.1"),
            REDIS_PORT=os.environ.get("REDIS_PORT", "6379"),
            REDIS_PASSWORD=os.environ.get("REDIS_PASSWORD", ""),
            REDIS_DB=os.environ.get("REDIS_DB", "1"),
            REDIS_KEY_PREFIX="".join(c for c in self.name if c.isalnum()),
            DATABASE_URL=self.dossier_url, RASA_URL=self.url,
            RASA_LB_BIND=f"{self.interface}:{self.ports['lb']}",
            ACTION_LB_BIND=f"127.0.0.1:{self.ports['action_lb']}",
            **{f"{variable}_ADDR": f"127.0.0.1:{self.ports[name]}" for variable, name in
               (("RASA1", "rasa1"), ("RASA2", "rasa2"), ("ACTION1", "actions1"),
                ("ACTION2", "actions2"))},
        )
        env.update(self.extra_env)
        return env

    def create_databases(self) -> None:
        admin = sa.create_engine(self.pg, isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            for db in (self.tracker_db, f"{self.name}_dossiers"):
                exists = connection.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": db}).first()
                if not exists:
                    connection.execute(sa.text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        # The tracker tables are made here, once: replicas starting together
        # would race to create them.
        from rasa.core.tracker_store import SQLTrackerStore

        engine = sa.create_engine(self.tracker_url)
        SQLTrackerStore.Base.metadata.create_all(engine)
        engine.dispose()

    def drop_databases(self) -> None:
        admin = sa.create_engine(self.pg, isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            for db in (self.tracker_db, f"{self.name}_dossiers"):
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()

    def _command(self, name: str) -> List[str]:
        if name == "haproxy":
            return ["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")]
        if name.startswith("actions"):
            return [sys.executable, "-m", "actions.server", "--port", str(self.ports[name])]
        return [str(BIN / "rasa"), "run", "--model", str(self.model),
                "--endpoints", str(ROOT / "endpoints.cluster.yml"),
                "--credentials", str(ROOT / "credentials.yml"), "--port", str(self.ports[name]),
                "--interface", "127.0.0.1", "--enable-api",
                "--auth-token", self.secrets["RASA_API_TOKEN"]]

    def spawn(self, name: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(self._command(name), cwd=ROOT, env=self.env(), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def health_url(self, name: str) -> str:
        if name.startswith("actions"):
            return f"http://127.0.0.1:{self.ports[name]}/health"
        return f"http://127.0.0.1:{self.ports[name]}/webhooks/rest/"

    def wait_ready(self, name: str, timeout: float = 600) -> None:
        deadline = time.time() + timeout
        process = self.processes[name]
        while time.time() < deadline:
            if process.poll() is not None:
                log = (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{log}")
            try:
                with urllib.request.urlopen(self.health_url(name), timeout=3):
                    return
            except Exception:
                time.sleep(0.5)
        raise TimeoutError(f"{name} not ready after {timeout:.0f} s; see {self.workdir}")

    def start(self) -> Cluster:
        self.create_databases()
        subprocess.run([sys.executable, "-m", "bot.cli.dossiers", "seed-demo"], cwd=ROOT,
                       env=self.env(), check=True, capture_output=True, timeout=300)
        for name in ("actions1", "actions2"):
            self.spawn(name)
        for name in ("actions1", "actions2"):
            self.wait_ready(name)
        self.spawn("haproxy")
        for name in ("rasa1", "rasa2"):
            self.spawn(name)
        for name in ("rasa1", "rasa2"):
            self.wait_ready(name)
        self.ports_up_through_balancer()
        return self

    def ports_up_through_balancer(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/webhooks/rest/", timeout=3):
                    return
            except Exception:
                time.sleep(0.5)
        raise TimeoutError("haproxy does not answer; see haproxy.log")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop(self) -> None:
        for name in list(self.processes):
            if self.processes[name].poll() is None:
                self.processes[name].terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def create_tracker_tables() -> None:
    """The tracker store's tables, from the TRACKER_* variables (containers' migrate step)."""
    from rasa.core.tracker_store import SQLTrackerStore

    env = os.environ
    url = sa.engine.URL.create(
        "postgresql+psycopg2", username=env.get("TRACKER_USER"),
        password=env.get("TRACKER_PASSWORD") or None, host=env.get("TRACKER_HOST"),
        port=int(env.get("TRACKER_PORT", "5432")), database=env["TRACKER_DB"])
    engine = sa.create_engine(url)
    SQLTrackerStore.Base.metadata.create_all(engine)
    engine.dispose()


def main() -> int:
    if sys.argv[1:] == ["create-tables"]:
        create_tracker_tables()
        return 0
    port = int(os.environ.get("CLUSTER_PORT", "8405"))
    cluster = Cluster(ROOT / "logs" / "cluster", port=port,
                      name=os.environ.get("CLUSTER_NAME", "assistant_cluster"),
                      model=Path(os.environ.get("CLUSTER_MODEL", ROOT / "models/current.tar.gz")),
                      interface=os.environ.get("CLUSTER_INTERFACE", "127.0.0.1"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        print("Starting two action servers, haproxy and two Rasa replicas "
              "(about a minute)...", flush=True)
        cluster.start()
        print(f"\n  Citizens' channels (haproxy): {cluster.url}/webhooks/rest/webhook")
        print(f"  Replicas: {cluster.replica_url('rasa1')}  {cluster.replica_url('rasa2')}")
        print(f"  Tracker store: PostgreSQL {cluster.tracker_db}; lock store: Redis")
        print(f"  Logs: {cluster.workdir}/    (Ctrl-C to stop)\n", flush=True)
        # A process that dies is started again; the others serve meanwhile.
        while True:
            time.sleep(2)
            for name, process in list(cluster.processes.items()):
                if process.poll() is not None:
                    print(f"{time.strftime('%F %T')} {name} exited ({process.returncode}); "
                          f"restarting it. See {cluster.workdir}/{name}.log", file=sys.stderr)
                    cluster.spawn(name)
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
