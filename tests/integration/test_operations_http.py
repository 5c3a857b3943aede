"""Operators' view of a running assistant: readiness, metrics, JSON logs with one
correlation id from the channel to the action server."""
from __future__ import annotations

import json
import time

import pytest

from tests.support.servers import MODEL, Assistant, http

REQUEST_ID = "ops-test-0123456789"


@pytest.fixture(scope="module")
def ops_assistant(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    running = Assistant(tmp_path_factory.mktemp("ops"), extra_env={"LOG_FORMAT": "json"}).start()
    yield running
    running.stop()


def _json(status_body):
    status, body = status_body
    return status, json.loads(body)


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _log_lines(assistant, name: str):
    lines = []
    for raw in (assistant.workdir / name).read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))  # every structured line must parse
    return lines


def test_liveness_and_readiness(ops_assistant):
    assert _json(http("GET", f"{ops_assistant.url}/webhooks/ops/health")) == (200, {"status": "ok"})
    status, body = _json(http("GET", f"{ops_assistant.url}/webhooks/ops/ready"))
    assert status == 200, body
    assert body["checks"] == {"model": "ok", "tracker_store": "ok", "action_server": "ok"}
    status, body = _json(http("GET", f"http://127.0.0.1:{ops_assistant.action_port}/ready"))
    assert status == 200 and body["checks"] == {"dossier_database": "ok", "knowledge_base": "ok"}


def test_metrics_count_messages_actions_and_refusals(ops_assistant):
    ops_assistant.say("m-1", "lệ phí làm căn cước")
    ops_assistant.say("m-1", "cho tôi gặp cán bộ")
    status, _ = http("POST", f"{ops_assistant.url}/webhooks/rest/webhook", raw=b"{not json")
    assert status == 400
    status, rasa_metrics = http("GET", f"{ops_assistant.url}/webhooks/ops/metrics")
    assert status == 200
    rasa_metrics = rasa_metrics.decode()
    assert _metric(rasa_metrics, "assistant_messages_total", channel="webchat") >= 2
    assert _metric(rasa_metrics, "assistant_turn_seconds_count", channel="webchat") >= 2
    assert _metric(rasa_metrics, "assistant_refused_requests_total", channel="rest", reason="400") >= 1
    assert "process_resident_memory_bytes" in rasa_metrics

    status, action_metrics = http("GET", f"http://127.0.0.1:{ops_assistant.action_port}/metrics")
    action_metrics = action_metrics.decode()
    assert status == 200
    assert _metric(action_metrics, "assistant_actions_total", action="action_answer_procedure") >= 1
    assert _metric(action_metrics, "assistant_handoffs_total") >= 1
    assert "assistant_fallbacks_total" in action_metrics


def test_lookups_and_lockouts_are_counted(ops_assistant):
    for _ in range(6):
        ops_assistant.say("m-lock", "tra cứu hồ sơ 000.45.02.H58-261120-0012")
        ops_assistant.say("m-lock", "0000")
    _, body = http("GET", f"http://127.0.0.1:{ops_assistant.action_port}/metrics")
    body = body.decode()
    assert _metric(body, "assistant_dossier_lookups_total", outcome="refused") >= 1
    assert _metric(body, "assistant_lockouts_total", scope="conv") >= 1


def test_one_correlation_id_from_channel_to_actions(ops_assistant):
    status, _ = http(
        "POST", f"{ops_assistant.url}/webhooks/rest/webhook",
        {"sender": "corr-1", "message": "đăng ký thường trú cần giấy tờ gì"},
        headers={"X-Request-ID": REQUEST_ID},
    )
    assert status == 200
    deadline = time.time() + 20
    while time.time() < deadline:
        rasa = [e for e in _log_lines(ops_assistant, "rasa.log") if e["correlation_id"] == REQUEST_ID]
        actions = [e for e in _log_lines(ops_assistant, "actions.log")
                   if e["correlation_id"] == REQUEST_ID]
        if rasa and actions:
            break
        time.sleep(0.5)
    assert any("turn handled" in e["message"] for e in rasa), rasa
    assert any("action_answer_procedure" in e["message"] for e in actions), actions
    assert all(e["process"] == "actions" for e in actions)
    # A caller's id that is not a sane token is replaced, never logged.
    http("POST", f"{ops_assistant.url}/webhooks/rest/webhook",
         {"sender": "corr-2", "message": "xin chào"}, headers={"X-Request-ID": "<b>0912345678</b>"})
    assert "0912345678" not in (ops_assistant.workdir / "rasa.log").read_text(errors="replace")


def test_readiness_names_the_dependency_that_is_down(ops_assistant):
    # Last in the module: it stops the action server.
    actions = ops_assistant.processes[0]
    actions.terminate()
    actions.wait(timeout=20)
    status, body = _json(http("GET", f"{ops_assistant.url}/webhooks/ops/ready"))
    assert status == 503
    assert body["checks"]["action_server"] == "down"
    assert body["checks"]["model"] == "ok" and body["checks"]["tracker_store"] == "ok"
    assert _json(http("GET", f"{ops_assistant.url}/webhooks/ops/health"))[0] == 200
