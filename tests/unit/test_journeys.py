import datetime as dt
from pathlib import Path

import pytest
import yaml

from dichvucong.knowledge.answers import MESSAGE_LIMIT, TOPIC_BY_INTENT
from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.knowledge.journeys import (
    JOURNEY_IDS,
    JourneyError,
    compose_journey,
    default_journeys,
    journeys_dir,
    load_journey,
)

TODAY = dt.date(2026, 12, 2)


@pytest.mark.parametrize("journey_id", JOURNEY_IDS)
@pytest.mark.parametrize("day", [TODAY, dt.date(2027, 3, 1)])
def test_every_journey_fits_one_message_and_names_an_official_source(journey_id, day):
    answer = compose_journey(journey_id, day)
    assert answer is not None and len(answer.text) <= MESSAGE_LIMIT
    assert answer.text.splitlines()[-1].startswith("Nguồn: ")
    assert "chưa có văn bản chính thức" not in answer.text
    assert "chưa xác minh" not in answer.text


@pytest.mark.parametrize("journey_id", JOURNEY_IDS)
def test_each_step_is_a_button_into_its_procedure(journey_id):
    kb = default_knowledge_base()
    journey = default_journeys()[journey_id]
    answer = compose_journey(journey_id, TODAY)
    assert len(answer.buttons) == len(journey.steps)
    for button, step in zip(answer.buttons, journey.steps, strict=True):
        intent, entities = button["payload"][1:].split("{", 1)
        assert intent in TOPIC_BY_INTENT
        assert f'"procedure":"{step.procedure}"' in entities
        assert kb.get(step.procedure) is not None


def test_birth_journey_lists_khai_sinh_thuong_tru_bhyt_and_the_deadline():
    text = compose_journey("birth", TODAY).text
    for needed in ("khai sinh", "thường trú", "bảo hiểm y tế", "căn cước", "60 ngày", "VNeID"):
        assert needed in text, needed
    assert "(đến hết 28/02/2027; sau đó:" in text
    assert "cần xác nhận với Công an cấp xã" in text


def test_time_limited_facts_give_way_to_what_follows():
    before = compose_journey("lost_card", TODAY).text
    after = compose_journey("lost_card", dt.date(2027, 1, 1)).text
    assert "35.000 đồng (đến hết 31/12/2026; sau đó: 70.000 đồng" in before
    assert "35.000" not in after and "70.000 đồng" in after


def test_death_journey_has_khai_tu_xoa_thuong_tru_and_mai_tang():
    text = compose_journey("death", TODAY).text
    assert "khai tử" in text and "Xóa đăng ký thường trú" in text and "mai táng" in text


def test_unknown_journey_is_none():
    assert compose_journey("graduation", TODAY) is None


def _write(tmp_path: Path, journey_id: str, change) -> Path:
    raw = yaml.safe_load((journeys_dir() / f"{journey_id}.yml").read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / f"{journey_id}.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_a_fact_citing_a_source_the_procedure_lacks_is_refused(tmp_path):
    def cite_unknown(raw):
        raw["steps"][0]["deadline"][0]["sources"] = ["no_such_source"]

    with pytest.raises(JourneyError, match="no_such_source"):
        load_journey(_write(tmp_path, "birth", cite_unknown), default_knowledge_base())


def test_an_unverified_fact_must_say_what_to_confirm(tmp_path):
    def drop_confirm(raw):
        raw["steps"][0]["fee"][0]["status"] = "unverified"

    with pytest.raises(JourneyError, match="confirm"):
        load_journey(_write(tmp_path, "death", drop_confirm), default_knowledge_base())


def test_a_verified_fact_needs_an_official_source(tmp_path):
    def secondary_only(raw):
        raw["steps"][0]["fee"][0]["sources"] = ["baochinhphu"]

    with pytest.raises(JourneyError, match="official"):
        load_journey(_write(tmp_path, "birth", secondary_only), default_knowledge_base())


def test_unknown_fields_are_refused(tmp_path):
    def extra(raw):
        raw["steps"][0]["price"] = "free"

    with pytest.raises(JourneyError):
        load_journey(_write(tmp_path, "marriage", extra), default_knowledge_base())
