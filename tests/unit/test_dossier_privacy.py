"""Masking, redaction and digests of personal data."""

from __future__ import annotations

import pytest

from dichvucong.privacy import (
    digest,
    last4,
    mask_name,
    normalize_identity,
    normalize_phone,
    redact,
)

CODE = "000.00.15.H10-261120-0012"


@pytest.mark.parametrize(
    "name, masked",
    [
        ("Nguyễn Văn An", "Nguyễn V. A."),
        ("  Nguyễn   Văn  An ", "Nguyễn V. A."),
        ("Trần Thị Bích Ngọc", "Trần T. B. N."),
        ("nguyễn văn an", "Nguyễn V. A."),
        ("Đỗ đức", "Đỗ Đ."),
        ("An", "An"),
        ("H'Hen Niê", "H'Hen N."),
        ("", ""),
        ("   ", ""),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_name_accepts_decomposed_unicode():
    import unicodedata

    assert mask_name(unicodedata.normalize("NFD", "Nguyễn Văn Đức")) == "Nguyễn V. Đ."


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CCCD của tôi là 079123456789", "CCCD của tôi là •••••••••789"),
        ("số CMND 123456789 ạ", "số CMND ••••••789 ạ"),
        ("căn cước 079 123 456 789", "căn cước •••••••••789"),
        ("gọi 0912345678 nhé", "gọi •••••••678 nhé"),
        ("sđt: 0912 345 678.", "sđt: •••••••678."),
        ("sđt 0912.345.678", "sđt •••••••678"),
        ("+84 912 345 678", "•••••••678"),
        ("+84912345678", "•••••••678"),
        ("liên hệ 024 3825 1234", "liên hệ ••••••••234"),
        ("sđt0912345678nhé", "sđt•••••••678nhé"),
        (
            "Hồ sơ 000.00.15.H10-261120-0012, sđt 0912345678",
            "Hồ sơ 000.00.15.H10-261120-0012, sđt •••••••678",
        ),
        ("hồ sơ 000.00.15.h10 - 261120 - 0012", "hồ sơ 000.00.15.h10 - 261120 - 0012"),
        ("lệ phí 1.500.000 đồng, hẹn 26/11/2026", "lệ phí 1.500.000 đồng, hẹn 26/11/2026"),
        ("4 số cuối là 6789", "4 số cuối là 6789"),
        ("", ""),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_redact_never_leaves_a_full_number():
    text = "CCCD 001090012345, điện thoại +84 912 345 601 hoặc 0912345601"
    out = redact(text)
    for secret in ("001090012345", "912 345 601", "0912345601", "912345601"):
        assert secret not in out


@pytest.mark.parametrize(
    "phone, normalized",
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0084912345678", "0912345678"),
        ("(024) 3825 1234", "02438251234"),
        ("12345", None),
        ("091234567", None),
        ("số của tôi", None),
        ("", None),
    ],
)
def test_normalize_phone(phone, normalized):
    assert normalize_phone(phone) == normalized


def test_normalize_identity_and_last4():
    assert normalize_identity("079 123 456 789") == "079123456789"
    assert normalize_identity("123456789") == "123456789"
    assert normalize_identity("07912345678") is None
    assert normalize_identity("07912345678a") is None
    assert last4("079 123 456 789") == "6789"
    assert last4("+84 912 345 678") == "5678"
    with pytest.raises(ValueError):
        last4("12a")


def test_digest_is_keyed_and_salted_with_the_code():
    value = "079123456789"
    first = digest(value, CODE, pepper="p1")
    assert first == digest(value, CODE, pepper="p1")
    assert len(first) == 64 and value not in first
    assert first != digest(value, "000.00.15.H10-261120-0013", pepper="p1")
    assert first != digest(value, CODE, pepper="p2")
    assert digest("6789", CODE) == digest("6789", CODE)
