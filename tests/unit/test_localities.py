"""Localities: recognition of old and new unit names, split wards, answers.

Every test here runs with the network closed: the library's online geocoder
(ArcGIS through geopy) must never be reached, so any connection fails the test.
"""
from __future__ import annotations

import socket
import sys

import pytest
import yaml

from actions.localities import ActionAnswerLocality
from bot.nlu.locality_extractor import extract_locality
from dichvucong.localities import change_answer, office_line, resolve, split_buttons
from dichvucong.localities.answers import offices, today_label
from dichvucong.localities.units import UNITS, Unit, apply_overrides, overrides
from dichvucong.settings import PROJECT_ROOT
from tests.support.trackers import make_tracker

THAC_MO = "tôi ở phường Thác Mơ, thị xã Phước Long, Bình Phước thì làm căn cước ở đâu"
PHUOC_LONG = "Phường Phước Long, Tỉnh Đồng Nai"
DA_KAO = "Phường Sài Gòn, Thành phố Hồ Chí Minh | Phường Tân Định, Thành phố Hồ Chí Minh"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network call attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def resolved(text: str) -> str:
    found = resolve(text)
    return today_label(found.unit.label) if found and found.unit else ""


def test_the_geocoder_is_never_imported():
    UNITS()
    resolve(THAC_MO)
    assert "vietnamadminunits.parser" not in sys.modules
    assert "vietnamadminunits.converter" not in sys.modules
    assert "geopy" not in sys.modules


def test_the_library_data_is_complete():
    units = UNITS().by_key.values()
    assert sum(u.era == "new" and u.level == "commune" for u in units) == 3321
    assert sum(u.era == "new" and u.level == "province" for u in units) == 34
    assert sum(u.era == "old" and u.level == "province" for u in units) == 63
    assert sum(u.divided for u in units) == 471
    assert all(u.successors for u in units if u.era == "old" and u.level == "commune")


@pytest.mark.parametrize("text, expected", [
    (THAC_MO, PHUOC_LONG),
    ("toi o p. thac mo, tx phuoc long, binh phuoc", PHUOC_LONG),
    ("P.Thác Mơ TX.Phước Long", PHUOC_LONG),
    ("xã Phước Tín giờ thuộc phường nào", PHUOC_LONG),
    ("phường Phước Long, Đồng Nai", PHUOC_LONG),
    ("Bình Phước sáp nhập vào đâu", "Tỉnh Đồng Nai"),
    ("tinh hai duong gio thuoc dau", "Thành phố Hải Phòng"),
    ("p. Đa Kao q1 tphcm", DA_KAO),
    ("phuong da kao quan 1", DA_KAO),
    ("f7 q.Bình Thạnh hcm", "Phường Gia Định, Thành phố Hồ Chí Minh"),
    ("tx Phước Long", "Thị xã Phước Long, Tỉnh Bình Phước"),
    ("h. Bình Chánh", "Huyện Bình Chánh, Thành phố Hồ Chí Minh"),
    ("tôi ở Thác Mơ", PHUOC_LONG),
])
def test_names_old_and_new_with_and_without_diacritics(text, expected):
    assert resolved(text) == expected


@pytest.mark.parametrize("text", [
    "ông nội em vừa mất, gia đình phải làm thủ tục gì",  # not phường Gia Định
    "em nộp hồ sơ ở công an xã từ 2 tuần trước",  # not xã Tư
    "cong an xa tu 2 tuan truoc",
    "tự kích hoạt VNeID mức 1 tại nhà bằng điện thoại",  # not phường Nhà Bàng
    "không muốn ngồi chờ ở phường. Làm trên app",  # not phường Phương Lâm
    "làm căn cước ở đâu",
])
def test_everyday_words_are_not_places(text):
    assert resolve(text) is None


def test_a_bare_name_far_from_the_province_is_not_a_commune():
    assert resolved("lao cai thi di lam thuong tru o dau vay") == "Tỉnh Lào Cai"


def test_two_places_that_do_not_fit_together_are_not_guessed():
    found = resolve("em ở Hà Nội, quê Thanh Hóa")
    assert found.unit is None and len(found.candidates) == 2


def test_the_issue_example_names_todays_unit_and_office():
    [entity] = extract_locality(THAC_MO)
    assert THAC_MO[entity["start"]:entity["end"]] == "phường Thác Mơ, thị xã Phước Long, Bình Phước"
    line = office_line("can_cuoc", entity["value"])
    assert "Thị xã Phước Long không còn cấp huyện từ 1/7/2025" in line
    assert "phường Thác Mơ nay thuộc phường Phước Long, tỉnh Đồng Nai" in line
    assert "Công an phường Phước Long" in line
    assert "Công an tỉnh Đồng Nai" in line


def test_the_office_follows_the_procedure_level():
    assert "UBND phường Phước Long" in office_line("khai_sinh", PHUOC_LONG)
    assert "Công an phường Phước Long" in office_line("tam_tru", PHUOC_LONG)
    assert "Công an tỉnh Đồng Nai" in office_line("ly_lich_tu_phap", "Bình Phước")
    assert office_line("can_cuoc", None) is None
    assert office_line("can_cuoc", "không có địa danh") is None


def test_every_procedure_has_an_office_and_every_office_a_template():
    index = yaml.safe_load((PROJECT_ROOT / "data/procedures/_index.yml").read_text("utf-8"))
    table = offices()
    assert set(table["procedures"]) == set(index["procedures"])
    for entry in table["procedures"].values():
        assert {entry["office"], entry.get("also", entry["office"])} <= set(table["offices"])


def test_a_divided_ward_asks_instead_of_taking_the_default():
    locality = resolve("p. Đa Kao q1").unit.label
    line = office_line("thuong_tru", locality)
    assert "Công an phường Sài Gòn hoặc Công an phường Tân Định" in line
    assert "Bạn cho biết mình thuộc phường, xã mới nào" in line
    buttons = split_buttons(locality)
    assert [b["title"] for b in buttons] == ["Phường Sài Gòn", "Phường Tân Định"]
    assert buttons[1]["payload"] == (
        '/inform_locality{"locality": "Phường Tân Định, Thành phố Hồ Chí Minh"}'
    )
    assert resolved(buttons[1]["payload"]) == "Phường Tân Định, Thành phố Hồ Chí Minh"


def test_reorganisation_answers_give_date_and_legal_basis():
    answer = change_answer("xã Phước Tín")
    assert answer.startswith("Từ 1/7/2025, xã Phước Tín (thị xã Phước Long cũ, tỉnh Bình Phước)")
    assert "phường Phước Long, tỉnh Đồng Nai" in answer
    assert "202/2025/QH15" in answer and "72/2025/QH15" in answer and "1662/NQ-UBTVQH15" in answer
    assert "nay thuộc tỉnh Đồng Nai" in change_answer("Bình Phước") or \
        "thuộc tỉnh Đồng Nai" in change_answer("Bình Phước")
    assert "không còn cấp huyện" in change_answer("Hà Nội")


def test_overrides_apply_only_verified_rows():
    unit = Unit("new:x", "new", "province", "Tỉnh X", "X", "Tỉnh", "99", "new:x")
    apply_overrides({"new:x": unit}, [{"key": "new:x", "kind": "Thành phố", "name": "Thành phố X"}])
    assert unit.name == "Tỉnh X"
    row = {"key": "new:x", "kind": "Thành phố", "name": "Thành phố X", "verified": True}
    apply_overrides({"new:x": unit}, [row])
    assert (unit.kind, unit.name, unit.former_names) == ("Thành phố", "Thành phố X", ["Tỉnh X"])
    with pytest.raises(ValueError, match="unknown unit"):
        apply_overrides({}, [row])


def test_the_override_table_names_real_units_and_cites_its_evidence():
    units = UNITS().by_key
    for row in overrides():
        assert row["key"] in units and row.get("note")


async def test_action_answers_the_reorganisation_question(dispatcher, domain):
    text = "xã Phước Tín giờ thuộc phường nào"
    tracker = make_tracker(text, "ask_locality_change", extract_locality(text))
    events = await ActionAnswerLocality().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert "thuộc phường Phước Long, tỉnh Đồng Nai" in message["answer"]
    assert events[0]["name"] == "locality"


async def test_action_asks_which_new_ward_with_buttons(dispatcher, domain):
    text = "phường Đa Kao quận 1 giờ thuộc phường nào"
    tracker = make_tracker(text, "ask_locality_change", extract_locality(text))
    await ActionAnswerLocality().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert "Bạn ở phần nào của phường Đa Kao cũ?" in message["answer"]
    assert len(message["buttons"]) == 2


async def test_action_gives_the_office_for_the_procedure_under_discussion(dispatcher, domain):
    text = "tôi ở phường Tân Định"
    tracker = make_tracker(text, "inform_locality", extract_locality(text),
                           slots={"procedure": "can_cuoc"})
    await ActionAnswerLocality().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert "Công an phường Tân Định" in message["answer"]


def test_a_question_naming_a_procedure_is_not_about_the_reorganisation():
    from bot.nlu.locality_extractor import procedure_question

    intent = {"name": "ask_locality_change", "confidence": 0.8}
    ranking = [intent, {"name": "ask_where", "confidence": 0.15}]
    procedure = [{"entity": "procedure", "value": "can_cuoc"}]
    assert procedure_question(intent, ranking, procedure) == {"name": "ask_where", "confidence": 0.8}
    assert procedure_question(intent, ranking, []) is None
    assert procedure_question({"name": "ask_fee", "confidence": 0.9}, ranking, procedure) is None


def test_a_place_name_is_not_a_procedure():
    from bot.nlu.locality_extractor import without_places

    text = "mình ở Xã Đàm Thủy, Huyện Trùng Khánh, Cao Bằng, làm thường trú chỗ nào"
    start = text.index("Bằng, làm")
    entities = [
        {"entity": "procedure", "value": "doi_gplx", "start": start, "end": start + 9},
        {"entity": "procedure", "value": "thuong_tru", "start": text.index("thường"), "end": 0},
    ]
    assert [e["value"] for e in without_places(entities, resolve(text).parts)] == ["thuong_tru"]
    between = "phường Tân Định làm căn cước, quận 1"
    kept = [{"entity": "procedure", "value": "can_cuoc", "start": between.index("căn"), "end": 0}]
    assert without_places(kept, resolve(between).parts) == kept
