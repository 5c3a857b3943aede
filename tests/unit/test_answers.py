import datetime as dt

import pytest

from dichvucong.knowledge.answers import (
    MESSAGE_LIMIT,
    SHORT_LINES,
    TOPIC_HEADINGS,
    compose,
    compose_details,
    detect_variants,
    payload,
)
from dichvucong.knowledge.base import Procedure, default_knowledge_base
from dichvucong.knowledge.compose_details import pack

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
                {"id": "s1", "title": "Công an tỉnh", "url": "https://example.gov.vn/a", "reliability": "A"},
                {"id": "s2", "title": "Báo điện tử", "url": "https://example.vn/b", "reliability": "B"},
            ],
            "last_checked": "2026-11-20",
        }
    )


def test_answer_names_one_official_source_and_the_check_date(procedure):
    procedure.processing_time[0].sources.append("s2")
    answer = compose(procedure, "processing_time", today=TODAY)
    assert "Không quá 07 ngày làm việc." in answer.text
    assert answer.text.endswith(
        "Nguồn: Công an tỉnh – https://example.gov.vn/a (kiểm tra lần cuối 20/11/2026)."
    )
    assert "Báo điện tử" not in answer.text
    assert "xác nhận" not in answer.text


def test_secondary_sources_are_never_named_as_the_source(procedure):
    procedure.processing_time[0].sources = ["s2"]
    procedure.processing_time[0].status = "unverified"
    text = compose(procedure, "processing_time", today=TODAY).text
    assert "Báo điện tử" not in text and "example.vn" not in text
    assert "Nguồn: chưa có văn bản chính thức để đối chiếu" in text
    assert "Thời hạn này cần xác nhận" in text


def test_time_limited_fact_says_until_when_and_what_follows(procedure):
    procedure.fees[1].valid_from = dt.date(2025, 1, 1)
    text = compose(procedure, "fee", ["cap_lai"], TODAY).text
    assert "Giảm 50% (đến hết 31/12/2026). Từ 01/01/2027: Miễn sắp tới." in text
    assert "Giảm cũ." not in text
    later = compose(procedure, "fee", ["cap_lai"], dt.date(2027, 1, 2)).text
    assert "Giảm 50%" not in later and "Miễn sắp tới." in later


def test_uncertainty_is_said_once_in_words(procedure):
    text = compose(procedure, "fee", ["cap_lai"], TODAY).text
    assert text.count("cần xác nhận") == 1
    assert "Mức phí này cần xác nhận với Công an cấp xã." in text
    assert "chưa xác minh" not in text and "chưa thống nhất" not in text


def test_condition_is_said_with_the_fact(procedure):
    procedure.fees[0].condition = "nếu bạn có tài khoản định danh điện tử mức 2"
    text = compose(procedure, "fee", ["cap_lai"], TODAY).text
    assert "Cấp lại: 70.000 đồng, nếu bạn có tài khoản định danh điện tử mức 2." in text


def test_named_variant_filters_facts_and_titles_the_answer(procedure):
    text = compose(procedure, "documents", ["tre_em"], TODAY).text
    assert text.startswith("Giấy tờ cần chuẩn bị – Thẻ căn cước: trẻ em")
    assert "Giấy tờ của người đại diện." in text


def test_without_a_variant_common_facts_then_one_question(procedure):
    answer = compose(procedure, "documents", [], TODAY)
    assert "Giấy tờ chung." in answer.text
    assert "người đại diện" not in answer.text and "[" not in answer.text
    assert "Bạn làm thẻ lần đầu" in answer.text
    assert [b["payload"] for b in answer.buttons] == [
        '/ask_documents{"procedure":"can_cuoc","variant":"cap_lai"}',
        '/ask_documents{"procedure":"can_cuoc","variant":"tre_em"}',
    ]


def test_online_steps_are_numbered(procedure):
    text = compose(procedure, "online", today=TODAY).text
    assert "1. Đăng nhập.\n2. Nộp hồ sơ." in text


def test_follow_up_buttons_offer_the_other_topics(procedure):
    buttons = compose(procedure, "fee", ["cap_lai"], today=TODAY).buttons
    payloads = [b["payload"] for b in buttons]
    assert '/ask_documents{"procedure":"can_cuoc"}' in payloads
    assert not any(p.startswith("/ask_fee") and "detail" not in p for p in payloads)


def test_detect_variants_without_diacritics(procedure):
    assert detect_variants(procedure, "lam lai can cuoc bi mat cho con") == ["cap_lai", "tre_em"]


def test_payload_keeps_vietnamese_readable():
    assert payload("inform", procedure="khai_sinh") == '/inform{"procedure":"khai_sinh"}'
    assert payload("greet") == "/greet"


def test_step_prefixes_in_the_data_do_not_double_the_numbering(procedure):
    procedure.online.steps[0].text = "Bước 1: Đăng nhập."
    text = compose(procedure, "online", today=TODAY).text
    assert "1. Đăng nhập.\n2. Nộp hồ sơ." in text


def test_the_citizens_office_leads_the_where_answer(procedure):
    line = "Bạn đến Công an phường Ba Đình, Hà Nội."
    text = compose(procedure, "where", today=TODAY, office_line=line).text
    assert text.splitlines()[1] == line
    assert line not in compose(procedure, "fee", today=TODAY).text


def test_common_case_answered_and_the_other_offered():
    khai_sinh = default_knowledge_base().get("khai_sinh")
    answer = compose(khai_sinh, "documents", [], TODAY)
    assert "nhóm liên thông" in answer.text.splitlines()[0]
    titles = [b["title"] for b in answer.buttons]
    assert "Chỉ khai sinh" in titles and "Xem đầy đủ giấy tờ" in titles
    assert '/life_event{"life_event":"birth"}' in [b["payload"] for b in answer.buttons]


def test_details_are_cut_between_thoughts():
    groups = [["A" * 900], ["B" * 400, "C" * 400], ["D" * 10]]
    assert pack(groups, limit=1000) == ["A" * 900, "B" * 400 + "\n" + "C" * 400 + "\n" + "D" * 10]
    long_group = [["x" * 600, "y" * 600, "z" * 600]]
    assert pack(long_group, limit=1000) == ["x" * 600, "y" * 600, "z" * 600]


def _cases():
    for procedure in default_knowledge_base():
        for topic in TOPIC_HEADINGS:
            for variants in [[]] + [[v.id] for v in procedure.variants]:
                yield procedure, topic, variants


@pytest.mark.parametrize("day", [TODAY, dt.date(2026, 12, 2), dt.date(2027, 3, 1)])
def test_every_answer_fits_every_channel(day):
    lengths = []
    for procedure, topic, variants in _cases():
        answer = compose(procedure, topic, variants, day)
        where = (procedure.id, topic, variants)
        assert len(answer.text) <= MESSAGE_LIMIT, where
        assert answer.text.count("\n") + 1 <= SHORT_LINES + 1, where
        assert "chưa xác minh" not in answer.text and "[Nhóm" not in answer.text, where
        assert answer.text.splitlines()[-1].startswith("Nguồn: "), where
        lengths.append(len(answer.text))
        details = compose_details(procedure, topic, variants, day)
        assert details.parts and all(len(p) <= MESSAGE_LIMIT for p in details.parts), where
    lengths.sort()
    assert lengths[len(lengths) // 2] <= 700


def test_details_list_every_variant_under_its_own_heading():
    can_cuoc = default_knowledge_base().get("can_cuoc")
    text = "\n".join(compose_details(can_cuoc, "documents", [], TODAY).parts)
    assert "Nếu cấp lại thẻ căn cước (mất, hư hỏng):" in text
    assert "Cấp lại khi thẻ bị mất" in text


# scripts/answer_lengths.py's questions, with what the NLU makes of them, so
# the figures hold without a trained model.
FIRST_QUESTIONS = (
    ("làm căn cước cần giấy tờ gì", "can_cuoc", "documents"),
    ("đăng ký thường trú cần gì", "thuong_tru", "documents"),
    ("dang ky khai sinh online the nao", "khai_sinh", "online"),
    ("lệ phí làm lại căn cước bị mất", "can_cuoc", "fee"),
    ("khai sinh cho con mất bao lâu", "khai_sinh", "processing_time"),
    ("xin lý lịch tư pháp ở đâu", "ly_lich_tu_phap", "where"),
    ("doi bang lai xe het bao nhieu tien", "doi_gplx", "fee"),
    ("đăng ký tạm trú cần giấy tờ gì", "tam_tru", "documents"),
    ("thủ tục đăng ký kết hôn", "ket_hon", "overview"),
    ("lam the can cuoc cho con 5 tuoi o dau", "can_cuoc", "where"),
    ("đăng ký khai tử cho bố cần những gì", "khai_tu", "documents"),
    ("xác nhận tình trạng hôn nhân mất bao lâu", "xac_nhan_hon_nhan", "processing_time"),
    ("dang ky xe may moi can giay to gi", "dang_ky_xe", "documents"),
    ("kích hoạt định danh điện tử mức 2 thế nào", "dinh_danh_dien_tu", "overview"),
)


def test_the_fourteen_first_questions_meet_the_issue_targets():
    import statistics

    from scripts.answer_lengths import QUESTIONS

    assert tuple(q for q, _, _ in FIRST_QUESTIONS) == QUESTIONS
    kb = default_knowledge_base()
    sizes = []
    for question, procedure_id, topic in FIRST_QUESTIONS:
        procedure = kb.get(procedure_id)
        answer = compose(procedure, topic, detect_variants(procedure, question), TODAY)
        assert answer.text.startswith(TOPIC_HEADINGS[topic]), question
        sizes.append(len(answer.text))
    assert statistics.median(sizes) <= 700 and max(sizes) <= MESSAGE_LIMIT


def test_the_citizens_office_replaces_the_general_one_in_the_overview(procedure):
    line = "Ở phường Ba Đình, thành phố Hà Nội hiện nay, bạn đến Công an phường Ba Đình."
    text = compose(procedure, "overview", today=TODAY, office_line=line).text
    assert f"• {line}" in text and "Nơi nộp: Công an cấp xã" not in text
