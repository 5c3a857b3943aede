import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from dichvucong.knowledge.base import (
    PROCEDURE_IDS,
    KnowledgeBase,
    KnowledgeBaseError,
    load_procedure,
)
from dichvucong.text import fold

PROCEDURES = Path(__file__).resolve().parents[2] / "data" / "procedures"


def all_facts(procedure):
    return [
        *procedure.documents, *procedure.fees, *procedure.processing_time,
        *procedure.agency, *procedure.in_person, *procedure.online.steps,
    ]


def test_all_twelve_procedures_load(kb):
    assert sorted(kb.procedures) == sorted(PROCEDURE_IDS)


@pytest.mark.parametrize("procedure_id", PROCEDURE_IDS)
def test_every_procedure_is_sourced_and_dated(kb, procedure_id):
    procedure = kb.get(procedure_id)
    # A check date in the future would claim a review that has not happened.
    assert procedure.last_checked <= dt.date.today()
    for source in procedure.sources:
        assert source.url is None or source.url.startswith(("https://", "http://"))
    cited = {s for fact in all_facts(procedure) for s in fact.sources}
    assert cited, "facts must cite sources"
    assert procedure.online.available is False or procedure.online.steps


@pytest.mark.parametrize("procedure_id", PROCEDURE_IDS)
def test_no_district_level_agencies(kb, procedure_id):
    # There is no cấp huyện since 1 July 2025; naming it would send citizens astray.
    for fact in kb.get(procedure_id).agency:
        text = fold(fact.text)
        assert not re.search(r"\bhuyen\b", text) or "khong con" in text, fact.text
        assert "so gtvt" not in text, fact.text


def test_aliases_do_not_collide_between_procedures(kb):
    owner = {}
    for procedure in kb:
        for alias in [procedure.short_name, *procedure.aliases]:
            key = " ".join(fold(alias).split())
            assert owner.setdefault(key, procedure.id) == procedure.id, (
                f"{alias!r} names both {owner[key]} and {procedure.id}"
            )


def test_every_fact_uses_vietnamese_diacritics(kb):
    # Facts are read by citizens: an unaccented sentence is a data-entry slip.
    for procedure in kb:
        for fact in all_facts(procedure):
            assert fact.text.lower() != fold(fact.text), f"{procedure.id}: {fact.text}"


def _write(tmp_path, name, data):
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _valid(kb):
    return yaml.safe_load((PROCEDURES / "ket_hon.yml").read_text(encoding="utf-8"))


def test_malformed_file_names_file_and_field(tmp_path, kb):
    data = _valid(kb)
    data["fees"][0]["status"] = "maybe"
    path = _write(tmp_path, "ket_hon", data)
    with pytest.raises(KnowledgeBaseError) as error:
        load_procedure(path)
    assert "ket_hon.yml" in str(error.value)
    assert "fees.0.status" in str(error.value)


def test_fact_citing_an_unknown_source_is_rejected(tmp_path, kb):
    data = _valid(kb)
    data["documents"][0]["sources"] = ["nowhere"]
    with pytest.raises(KnowledgeBaseError, match="unknown source 'nowhere'"):
        load_procedure(_write(tmp_path, "ket_hon", data))


def test_missing_required_field_is_reported(tmp_path, kb):
    data = _valid(kb)
    del data["last_checked"]
    with pytest.raises(KnowledgeBaseError, match="last_checked"):
        load_procedure(_write(tmp_path, "ket_hon", data))


def test_id_must_match_file_name(tmp_path, kb):
    with pytest.raises(KnowledgeBaseError, match="must match the file name"):
        load_procedure(_write(tmp_path, "khai_tu", _valid(kb)))


def test_invalid_yaml_is_reported(tmp_path):
    path = tmp_path / "ket_hon.yml"
    path.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="ket_hon.yml: invalid YAML"):
        load_procedure(path)


def test_missing_procedure_files_are_reported(tmp_path, kb):
    _write(tmp_path, "ket_hon", _valid(kb))
    with pytest.raises(KnowledgeBaseError, match="missing procedure files: khai_sinh"):
        KnowledgeBase.load(tmp_path)


def test_a_procedure_file_missing_from_the_index_is_reported(tmp_path, kb):
    _write(tmp_path, "ket_hon", _valid(kb))
    (tmp_path / "_index.yml").write_text("procedures: []\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="add ket_hon to procedures"):
        KnowledgeBase.load(tmp_path)
