import datetime as dt

import pytest

from dichvucong.knowledge.answers import CAUTION, compose, detect_variants, payload
from dichvucong.knowledge.base import Procedure

TODAY = dt.date(2026, 11, 26)


@pytest.fixture
def procedure():
    fact = {"sources": ["s1"]}
    return Procedure.parse_obj(
        {
            "id": "can_cuoc",
            "name": "Cấp, cấp đổi, cấp lại thẻ căn cước",
            "short_name": "Thẻ căn cước",
            "aliases": ["căn cước", "cccd", "thẻ căn cước"],
            "summary": "Thẻ căn cước cho công dân Việt Nam.",
            "variants": [
                {"id": "cap_lai", "name": "Cấp lại", "keywords": ["cấp lại", "bị mất"]},
                {"id": "tre_em", "name": "Trẻ em", "keywords": ["cho con", "trẻ em"]},
            ],
            "documents": [
                {"text": "Giấy tờ chung.", **fact},
                {"text": "Giấy tờ của người đại diện.", "variants": ["tre_em"], **fact},
            ],
            "fees": [
                {"text": "Cấp lại: 70.000 đồng.", "variants": ["cap_lai"], **fact},
                {"text": "Giảm 50%.", "valid_until": "2026-12-31", "status": "conflicting", **fact},
                {"text": "Giảm cũ.", "valid_until": "2025-12-31", **fact},
                {"text": "Miễn sắp tới.", "valid_from": "2027-01-01", **fact},
            ],
            "processing_time": [{"text": "Không quá 07 ngày làm việc.", **fact}],
            "agency": [{"text": "Công an cấp xã.", **fact}],
            "online": {
                "available": True,
                "portals": ["VNeID"],
                "steps": [{"text": "Đăng nhập.", **fact}, {"text": "Nộp hồ sơ.", **fact}],
            },
            "legal_basis": ["Luật Căn cước 2023"],
            "sources": [
                {"id": "s1", "title": "Công an tỉnh", "url": "https://example.gov.vn/a", "reliability": "A"}
            ],
            "last_checked": "2026-11-20",
        }
    )


def test_answer_cites_source_and_last_checked_date(procedure):
    answer = compose(procedure, "processing_time", today=TODAY)
    assert "Không quá 07 ngày làm việc." in answer.text
    assert "Nguồn: Công an tỉnh – https://example.gov.vn/a" in answer.text
    assert "kiểm tra lần cuối: 20/11/2026" in answer.text
    assert CAUTION not in answer.text


def test_dated_facts_follow_today(procedure):
    text = compose(procedure, "fee", today=TODAY).text
    assert "Giảm 50%. (áp dụng đến hết 31/12/2026) (các nguồn chưa thống nhất)" in text
    assert "Giảm cũ." not in text
    assert "Miễn sắp tới." not in text
    later = compose(procedure, "fee", today=dt.date(2027, 1, 2)).text
    assert "Giảm 50%." not in later and "Miễn sắp tới." in later


def test_uncertain_fact_asks_to_confirm_with_the_office(procedure):
    assert CAUTION in compose(procedure, "fee", today=TODAY).text


def test_variant_filters_facts_and_titles_the_answer(procedure):
    text = compose(procedure, "documents", ["tre_em"], TODAY).text
    assert text.startswith("Giấy tờ cần chuẩn bị – Thẻ căn cước (Trẻ em)")
    assert "Giấy tờ của người đại diện." in text
    general = compose(procedure, "documents", [], TODAY).text
    assert "[Trẻ em] Giấy tờ của người đại diện." in general


def test_online_steps_are_numbered(procedure):
    text = compose(procedure, "online", today=TODAY).text
    assert "1. Đăng nhập.\n2. Nộp hồ sơ." in text


def test_follow_up_buttons_offer_the_other_topics(procedure):
    buttons = compose(procedure, "fee", today=TODAY).buttons
    payloads = [b["payload"] for b in buttons]
    assert '/ask_documents{"procedure":"can_cuoc"}' in payloads
    assert not any(p.startswith("/ask_fee") for p in payloads)


def test_detect_variants_without_diacritics(procedure):
    assert detect_variants(procedure, "lam lai can cuoc bi mat cho con") == ["cap_lai", "tre_em"]


def test_payload_keeps_vietnamese_readable():
    assert payload("inform", procedure="khai_sinh") == '/inform{"procedure":"khai_sinh"}'
    assert payload("greet") == "/greet"


def test_step_prefixes_in_the_data_do_not_double_the_numbering(procedure):
    procedure.online.steps[0].text = "Bước 1: Đăng nhập."
    text = compose(procedure, "online", today=TODAY).text
    assert "1. Đăng nhập.\n2. Nộp hồ sơ." in text


def test_only_a_few_sources_are_listed_officials_first(procedure):
    from dichvucong.knowledge.base import Source

    for i, grade in enumerate("CCBA"):
        procedure.sources.append(Source(id=f"x{i}", title=f"Nguồn {grade}{i}", reliability=grade))
        procedure.processing_time[0].sources.append(f"x{i}")
    text = compose(procedure, "processing_time", today=TODAY).text
    listed = [line for line in text.splitlines() if line.startswith("Nguồn:")]
    assert len(listed) == 3
    assert listed[0].startswith("Nguồn: Công an tỉnh") or "A3" in listed[0]
    assert "(và 2 nguồn tham khảo khác)" in text


def test_overview_cites_the_legal_basis(procedure):
    assert "Căn cứ pháp lý: Luật Căn cước 2023." in compose(procedure, "overview", today=TODAY).text
