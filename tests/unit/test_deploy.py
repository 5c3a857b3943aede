"""The deployment files describe the topology `make cluster` runs (deploy/).

No container runtime or Kubernetes API is assumed: the files are parsed and
checked against each other, and haproxy checks its configuration when it is
installed.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(ROOT / "scripts"))


def variables(path: Path) -> set:
    text = "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    return set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))


def compose():
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


def test_compose_gives_every_replica_what_the_cluster_endpoints_need():
    services = compose()["services"]
    assert {"rasa1", "rasa2", "actions1", "actions2", "haproxy", "postgres", "redis",
            "migrate"} <= set(services)
    for name in ("rasa1", "rasa2"):
        assert variables(ROOT / "endpoints.cluster.yml") <= set(services[name]["environment"])
    assert variables(DEPLOY / "haproxy.cfg") <= set(services["haproxy"]["environment"])


def test_kubernetes_manifests_name_what_the_cluster_endpoints_need():
    documents = list(yaml.safe_load_all((DEPLOY / "k8s" / "assistant.yaml").read_text()))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert ("Deployment", "dichvucong-rasa") in kinds and ("Service", "dichvucong-actions") in kinds
    secret = next(d for d in documents if d["kind"] == "Secret")
    assert variables(ROOT / "endpoints.cluster.yml") <= set(secret["stringData"])
    rasa = next(d for d in documents if d["kind"] == "Deployment" and "rasa" in d["metadata"]["name"])
    assert rasa["spec"]["replicas"] >= 2


def test_the_local_cluster_sets_every_balancer_and_endpoint_variable(tmp_path):
    from cluster import Cluster

    env = Cluster(tmp_path).env()
    assert variables(DEPLOY / "haproxy.cfg") <= set(env)
    assert variables(ROOT / "endpoints.cluster.yml") <= set(env)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed")
def test_haproxy_accepts_its_configuration(tmp_path):
    from cluster import Cluster

    checked = subprocess.run(["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg")],
                             env=Cluster(tmp_path).env(), capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
