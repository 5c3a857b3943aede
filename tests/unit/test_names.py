"""Names in staff free text: honorific + capitalised words, and the applicant's names."""

from __future__ import annotations

import datetime as dt

import pytest

from dichvucong.dossiers.models import Dossier, StatusEvent
from dichvucong.dossiers.texts import lookup_answer
from dichvucong.names import mask_one, mask_person_names


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Thiếu bản án ly hôn của anh Lê Minh Tuấn", "Thiếu bản án ly hôn của anh Lê M. T."),
        ("Thiếu bản án ly hôn của anh Lê Minh Tuấn.", "Thiếu bản án ly hôn của anh Lê M. T."),
        ("chị Ngọc bổ sung giấy khai sinh", "chị N. bổ sung giấy khai sinh"),
        ("Chị Ngọc cần nộp bản sao", "Chị N. cần nộp bản sao"),
        ("Đề nghị ông Nguyễn Văn An ký lại", "Đề nghị ông Nguyễn V. A. ký lại"),
        ("xác nhận của bà Trần Thị Hoa", "xác nhận của bà Trần T. H."),
        ("giấy khai sinh của cháu Phạm Gia Bảo", "giấy khai sinh của cháu Phạm G. B."),
        ("em Hoàng mang bản gốc", "em H. mang bản gốc"),
        ("cô Mai, chú Hùng và bác Tư", "cô M., chú H. và bác T."),
        ("cụ Đỗ Văn Thành đã mất", "cụ Đỗ V. T. đã mất"),
        ("bạn Vũ Thu Hà gửi giúp", "bạn Vũ T. H. gửi giúp"),
        ("cua chi Tran Thi Lan", "cua chi Tran T. L."),
        ("ong Nguyen Van Binh ky ten", "ong Nguyen V. B. ky ten"),
        ("CHỊ Lê Thị Thu cần ký", "CHỊ Lê T. T. cần ký"),
        ("Ông Bùi Quang Huy", "Ông Bùi Q. H."),
        ("Mr. John Smith signs", "Mr. John S. signs"),
        ("Ms Lan ký", "Ms L. ký"),
        ("anh Lê Minh Tuấn Anh Khoa", "anh Lê M. T. A. Khoa"),
        ("của chị Ngô Thị Lan, anh Trịnh Công Sơn", "của chị Ngô T. L., anh Trịnh C. S."),
    ],
)
def test_names_after_honorifics_are_masked(text, expected):
    assert mask_person_names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "UBND phường Ba Đình",
        "Nộp tại UBND phường Ba Đình, quận Ba Đình",
        "Công an phường cấp giấy xác nhận",
        "Giấy chứng sinh do bệnh viện cấp",
        "Tòa án nhân dân quận Hoàn Kiếm",
        "Ông Chủ tịch UBND xã ký",
        "gửi bà Trưởng phòng Tư pháp",
        "huyện Cô Tô, tỉnh Quảng Ninh",
        "tỉnh Bà Rịa - Vũng Tàu",
        "bản dịch từ nước Anh",
        "anh cần mang theo bản gốc",
        "chị vui lòng bổ sung",
        "Sở Tư pháp thành phố Hà Nội",
        "Ban Quản lý dự án",
        "bác sĩ Lan ký giấy chứng sinh",
        "",
    ],
)
def test_offices_places_and_documents_stay(text):
    assert mask_person_names(text) == text


def test_known_names_are_masked_everywhere():
    text = "Nguyễn Thị Ngọc nộp thiếu; chị Ngọc bổ sung. NGUYỄN THỊ NGỌC đã ký."
    masked = mask_person_names(text, known=["Nguyễn Thị Ngọc"])
    assert masked == "Nguyễn T. N. nộp thiếu; chị N. bổ sung. NGUYỄN T. N. đã ký."


def test_known_given_name_as_a_common_word_stays():
    assert mask_person_names("đá ngọc bích; Ngọc ký", known=["Trần Ngọc"]) == "đá ngọc bích; N. ký"


def test_known_given_name_alone_without_honorific():
    assert mask_person_names("Hồ sơ của Tuấn thiếu ảnh", known=["Lê Minh Tuấn"]) == (
        "Hồ sơ của T. thiếu ảnh"
    )


def test_known_name_with_extra_spaces_and_empty_known():
    assert mask_person_names("Lê  Minh Tuấn", known=["  Lê Minh  Tuấn ", "", None]) == "Lê M. T."


def test_decomposed_unicode_is_normalised():
    import unicodedata

    text = unicodedata.normalize("NFD", "của anh Lê Minh Tuấn")
    assert mask_person_names(text) == "của anh Lê M. T."


def test_mask_one():
    assert mask_one("Ngọc") == "N."
    assert mask_one("Lê Minh Tuấn") == "Lê M. T."


def test_dossier_answer_masks_third_persons_and_given_name():
    dossier = Dossier(
        code="000.00.01.H26-260101-0001", procedure_id="ket_hon", applicant_name="Trần Thị Ngọc",
        received_at=dt.date(2026, 1, 1), due_at=dt.date(2026, 1, 10), status="rejected",
        receiving_agency="UBND phường Ba Đình",
    )
    latest = StatusEvent(
        status="rejected", at=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc),
        office="UBND phường Ba Đình",
        reason="Thiếu bản án ly hôn của anh Lê Minh Tuấn; chị Ngọc (Trần Thị Ngọc) cần bổ sung.",
    )
    answer = lookup_answer(dossier, latest, dt.date(2026, 1, 6))
    assert "Lê Minh Tuấn" not in answer and "Ngọc" not in answer
    assert "anh Lê M. T." in answer and "chị N." in answer and "Trần T. N." in answer
    assert "UBND phường Ba Đình" in answer


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ông Hồ Văn Nam", "ông Hồ V. N."),
        ("ông Tô Văn Lâm ký", "ông Tô V. L. ký"),
    ],
)
def test_family_names_that_look_like_words(text, expected):
    assert mask_person_names(text) == expected
