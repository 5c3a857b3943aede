"""The fast model load (bot/patches/model_load.py) predicts exactly as Rasa's own.

Both loads run on the trained model in this process; every held-out message
must get the same intent ranking with the same confidences.
"""
import asyncio
import logging

import numpy as np
import pytest
import yaml
from rasa.core.agent import Agent
from rasa.utils.tensorflow.models import RasaModel

from bot.patches import model_load
from tests.integration.test_nlu_heldout import HELDOUT, LIFE_EVENTS
from tests.support.servers import MODEL


def _messages():
    for path in [*HELDOUT, LIFE_EVENTS]:
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    yield line.strip()[2:].strip()


def _rankings(monkeypatch, load, texts):
    monkeypatch.setattr(RasaModel, "load", classmethod(load))
    agent = Agent.load(str(MODEL))
    loop = asyncio.new_event_loop()
    try:
        parsed = [loop.run_until_complete(agent.parse_message(text)) for text in texts]
    finally:
        loop.close()
    return [[(r["name"], r["confidence"]) for r in p["intent_ranking"]] for p in parsed]


def test_fast_load_predicts_as_rasas_load(monkeypatch, caplog):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    texts = list(_messages())
    assert len(texts) > 500
    stock = _rankings(monkeypatch, model_load.ORIGINAL, texts)
    with caplog.at_level(logging.WARNING, logger=model_load.__name__):
        fast = _rankings(monkeypatch, model_load.load, texts)
    # The fast path was taken, not its fallback to Rasa's training step.
    assert not [r for r in caplog.records if r.name == model_load.__name__]
    for text, a, b in zip(texts, stock, fast, strict=True):
        assert [name for name, _ in a] == [name for name, _ in b], text
        np.testing.assert_allclose([c for _, c in a], [c for _, c in b], rtol=0, atol=1e-6,
                                   err_msg=text)


def _turns(monkeypatch, runner_run, texts):
    """NLU and the first policy prediction of each message, in a fresh conversation."""
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.runner.dask import DaskGraphRunner

    monkeypatch.setattr(DaskGraphRunner, "run", runner_run)
    agent = Agent.load(str(MODEL))
    loop = asyncio.new_event_loop()
    out = []
    try:
        for index, text in enumerate(texts):
            sender = f"graph-{index}"
            parsed = loop.run_until_complete(agent.parse_message(text))
            loop.run_until_complete(agent.processor.log_message(
                UserMessage(text, sender_id=sender), should_save_tracker=True))
            prediction = loop.run_until_complete(agent.processor.predict_next_for_sender_id(sender))
            out.append((parsed["intent"]["name"], round(parsed["intent"]["confidence"], 6),
                        sorted(e["entity"] + "=" + str(e["value"]) for e in parsed["entities"]),
                        prediction["scores"][0]["action"], prediction["policy"]))
    finally:
        loop.close()
    return out


def test_sequential_graph_runner_gives_dasks_results(monkeypatch):
    from bot.patches import graph_runner

    texts = list(_messages())[::7]
    assert len(texts) > 80
    stock = _turns(monkeypatch, graph_runner.ORIGINAL, texts)
    sequential = _turns(monkeypatch, graph_runner.run, texts)
    for text, a, b in zip(texts, stock, sequential, strict=True):
        assert a == b, text
