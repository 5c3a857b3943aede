"""Dossier lookups through the real assistant: form, second factor, lockout, notices."""
import json
import re
import time

from tests.integration.test_assistant_http import texts

SUPPLEMENT = "000.45.02.H58-261120-0012"  # ket_hon, needs_supplement; id ...4567, phone ...9103
REJECTED = "000.00.09.H17-261116-0018"  # tam_tru, rejected; phone ...6706
OVERDUE = "000.00.12.H26-261105-0021"  # thuong_tru, processing, due 16/11/2026; id ...3456


def test_lookup_with_a_sloppily_typed_code(assistant):
    assert "mã hồ sơ" in texts(assistant.say("d-1", "tra cứu hồ sơ")).lower()
    assert "4 chữ số cuối" in texts(assistant.say("d-1", "000.45.02.h58 - 261120 - 0012"))
    reply = texts(assistant.say("d-1", "4567"))
    assert "Chờ bổ sung" in reply
    assert "Trần T. B. N." in reply and "Trần Thị Bích Ngọc" not in reply
    assert "Bản án/quyết định ly hôn" in reply and "Cách khắc phục" in reply
    assert "079196034567" not in reply and "4567" not in reply


def test_code_pasted_in_a_sentence_and_phone_digits(assistant):
    first = texts(assistant.say("d-2", f"kiểm tra giúp tôi hồ sơ số {REJECTED} với"))
    assert "4 chữ số cuối" in first
    reply = texts(assistant.say("d-2", "6706"))
    assert "Từ chối giải quyết" in reply and "Lý do:" in reply


def test_overdue_dossier_says_so(assistant):
    assistant.say("d-3", f"tình trạng hồ sơ {OVERDUE}")
    reply = texts(assistant.say("d-3", "3456"))
    assert "quá hạn 10 ngày" in reply
    assert "Cơ quan giải quyết" in reply and "Ngày tiếp nhận: 05/11/2026" in reply


def test_malformed_code_gets_the_format_with_an_example(assistant):
    assistant.say("d-4", "tra cứu hồ sơ")
    reply = texts(assistant.say("d-4", "HS-12345"))
    assert "chưa đúng định dạng" in reply and "000.00.15.H10-261120-0012" in reply


def test_wrong_factor_and_unknown_code_get_the_same_reply(assistant):
    assistant.say("d-5", f"tra cứu hồ sơ {SUPPLEMENT}")
    wrong = texts(assistant.say("d-5", "0000"))
    assistant.say("d-6", "tra cứu hồ sơ 000.99.99.H99-261101-9999")
    unknown = texts(assistant.say("d-6", "4567"))
    assert wrong == unknown
    assert "không khớp" in wrong


def test_three_failures_lock_the_lookup(assistant):
    for _ in range(2):
        assistant.say("d-7", f"tra cứu hồ sơ {REJECTED}")
        assert "không khớp" in texts(assistant.say("d-7", "1111"))
    assistant.say("d-7", f"tra cứu hồ sơ {REJECTED}")
    locked = texts(assistant.say("d-7", "2222"))
    assert "tạm khóa" in locked
    # Even a new lookup is refused while locked, for this conversation...
    assert "tạm khóa" in texts(assistant.say("d-7", f"tra cứu hồ sơ {REJECTED}"))
    # ...and for this code from another conversation.
    assistant.say("d-8", f"tra cứu hồ sơ {REJECTED}")
    assert "tạm khóa" in texts(assistant.say("d-8", "6706"))


def test_citizen_can_stop_the_lookup(assistant):
    assistant.say("d-9", "tra cứu hồ sơ")
    assert "Đã dừng tra cứu" in texts(assistant.say("d-9", "thôi"))


def test_subscribed_conversation_receives_the_status_update(assistant):
    code = "000.31.24.H26-261125-0007"  # khai_sinh, received; id ...2345
    assistant.say("d-10", f"tra cứu hồ sơ {code}")
    status = assistant.say("d-10", "2345")
    assert "Đã tiếp nhận" in texts(status)
    subscribe = next(b["payload"] for m in status for b in m.get("buttons") or [] if "thông báo" in b["title"])
    assert "Đã đăng ký" in texts(assistant.say("d-10", subscribe))
    before = assistant.updates("d-10")["after"]

    result = assistant.cli("update-status", code, "needs_supplement", "--missing",
                           "Giấy chứng sinh: ảnh chụp bị mờ", "--instructions",
                           "Chụp lại giấy chứng sinh rõ nét và tải lên Cổng Dịch vụ công.",
                           "--actor", "Cán bộ hộ tịch", "--office", "UBND phường Ba Đình")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Đã gửi thông báo" in result.stdout

    deadline = time.time() + 30
    notices = []
    while time.time() < deadline and not notices:
        notices = assistant.updates("d-10", before)["messages"]
        time.sleep(0.5)
    [notice] = notices
    assert "vừa được cập nhật" in notice["text"]
    assert "Chờ bổ sung" in notice["text"] and "Giấy chứng sinh: ảnh chụp bị mờ" in notice["text"]
    assert "OTP" in notice["text"] and "https://dichvucong.gov.vn" in notice["text"]

    assert "Đã hủy theo dõi" in texts(assistant.say("d-10", "hủy theo dõi"))


def test_tracker_store_keeps_no_identity_or_factor_digits(assistant):
    import sqlite3

    assistant.say("d-11", "số cccd của tôi là 079196034567, sđt 0356789103, tra cứu hồ sơ giúp")
    assistant.say("d-11", SUPPLEMENT)
    assistant.say("d-11", "4567")
    with sqlite3.connect(assistant.tracker_db) as db:
        rows = [r[0] for r in db.execute("SELECT data FROM events WHERE sender_id = ?",
                                         (assistant.conversation("d-11"),))]
    stored = "\n".join(rows)
    assert "079196034567" not in stored and "0356789103" not in stored
    # As a number of its own: the digits may occur inside a stored confidence (0.0271928645670).
    assert not re.search(r"(?<![\d.])4567(?!\d)", stored.replace(SUPPLEMENT, ""))
    user_texts = [json.loads(r).get("text") for r in rows if json.loads(r).get("event") == "user"]
    assert "••••" in user_texts
