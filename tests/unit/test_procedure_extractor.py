import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.procedure_extractor import ProcedureEntityExtractor, alias_table, extract_procedures


@pytest.fixture(scope="module")
def aliases(kb):
    return alias_table(kb)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("làm căn cước cho con 10 tuổi cần gì", "can_cuoc"),
        ("lam can cuoc cho con 10 tuoi can gi", "can_cuoc"),
        ("đổi cccd ở đâu", "can_cuoc"),
        ("dang ky khai sinh mat bao lau", "khai_sinh"),
        ("lệ phí đổi bằng lái xe bao nhiêu", "doi_gplx"),
        ("gplx het han thi lam sao", "doi_gplx"),
        ("xin lltp o dau", "ly_lich_tu_phap"),
        ("nhập hộ khẩu cho vợ", "thuong_tru"),
        ("đăng ký tạm trú online", "tam_tru"),
        ("xin giấy xác nhận độc thân", "xac_nhan_hon_nhan"),
        ("đăng ký kết hôn cần gì", "ket_hon"),
        ("sang tên xe máy", "dang_ky_xe"),
        ("kích hoạt vneid mức 2", "dinh_danh_dien_tu"),
        ("khai tử cho bố", "khai_tu"),
        ("thông báo lưu trú cho khách", "thong_bao_luu_tru"),
    ],
)
def test_resolves_names_citizens_use(aliases, text, expected):
    values = {e["value"] for e in extract_procedures(text, aliases)}
    assert values == {expected}


def test_entity_keeps_the_users_span(aliases):
    text = "Lệ phí đổi BẰNG LÁI XE"
    [entity] = extract_procedures(text, aliases)
    assert "bằng lái" in text[entity["start"]:entity["end"]].lower()


def test_vneid_as_the_submission_app_does_not_hide_the_procedure(aliases):
    values = [e["value"] for e in extract_procedures("đăng ký khai sinh trên VNeID", aliases)]
    assert values == ["khai_sinh"]


def test_two_procedures_are_both_reported(aliases):
    values = {e["value"] for e in extract_procedures("đăng ký xe hay đổi bằng lái", aliases)}
    assert values == {"dang_ky_xe", "doi_gplx"}


def test_nothing_found_in_unrelated_text(aliases):
    assert extract_procedures("giá vàng hôm nay", aliases) == []


def test_component_adds_entities_to_messages():
    component = ProcedureEntityExtractor({"procedures_dir": "data/procedures"})
    message = Message(data={"text": "le phi cap lai can cuoc"})
    component.process([message])
    [entity] = message.get("entities")
    assert entity["value"] == "can_cuoc"
    assert entity["extractor"] == "ProcedureEntityExtractor"
