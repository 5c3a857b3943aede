"""The whole assistant over real HTTP: trained model, action server, web chat, SQLite tracker."""
import json
import sqlite3

from tests.support.servers import http


def texts(messages):
    return "\n".join(m.get("text", "") for m in messages)


def test_web_chat_page_is_served_without_external_resources(assistant):
    status, body = http("GET", f"{assistant.url}/webhooks/webchat/")
    page = body.decode("utf-8")
    assert status == 200
    assert "Trợ lý dịch vụ công" in page
    assert "<script src" not in page and "https://cdn" not in page


def test_child_id_card_documents(assistant):
    reply = texts(assistant.say("e2e-1", "làm căn cước cho con 10 tuổi cần gì"))
    assert reply.startswith("Giấy tờ cần chuẩn bị – Thẻ căn cước")
    assert "Nguồn:" in reply and "kiểm tra lần cuối" in reply


def test_unaccented_birth_registration_time(assistant):
    reply = texts(assistant.say("e2e-2", "dang ky khai sinh mat bao lau"))
    assert reply.startswith("Thời gian giải quyết – ")
    assert "khai sinh" in reply.lower()


def test_licence_fee_then_online_follow_up_keeps_context(assistant):
    fee = assistant.say("e2e-3", "lệ phí đổi bằng lái xe bao nhiêu")
    assert texts(fee).startswith("Lệ phí – ")
    assert "bằng lái" in texts(fee).lower() or "giấy phép lái xe" in texts(fee).lower()
    assert any(m.get("buttons") for m in fee)
    online = texts(assistant.say("e2e-3", "còn làm online thế nào?"))
    assert online.startswith("Nộp trực tuyến – ")
    assert "giấy phép lái xe" in online.lower() or "bằng lái" in online.lower()


def test_button_payload_continues_the_conversation(assistant):
    first = assistant.say("e2e-4", "thủ tục đăng ký kết hôn")
    payloads = [b["payload"] for m in first for b in m.get("buttons") or []]
    fee_button = next(p for p in payloads if p.startswith("/ask_fee"))
    assert texts(assistant.say("e2e-4", fee_button)).startswith("Lệ phí – Đăng ký kết hôn")


def test_out_of_scope_question_is_declined(assistant):
    reply = texts(assistant.say("e2e-5", "giá vàng hôm nay"))
    assert "ngoài phạm vi" in reply


def test_question_without_procedure_asks_which(assistant):
    messages = assistant.say("e2e-6", "lệ phí bao nhiêu vậy")
    assert "thủ tục nào" in texts(messages)
    payload = messages[-1]["buttons"][0]["payload"]
    assert texts(assistant.say("e2e-6", payload)).startswith("Lệ phí – ")


def test_bad_input_gets_a_vietnamese_error_not_a_crash(assistant):
    url = f"{assistant.url}/webhooks/webchat/webhook"
    status, body = http("POST", url, raw=b"{not json")
    assert status == 400 and "JSON" in json.loads(body)[0]["text"]
    status, body = http("POST", url, {"sender": "e2e-7", "message": "   "})
    assert status == 400 and "chưa nhập" in json.loads(body)[0]["text"]
    status, body = http("POST", url, {"sender": "e2e-7", "message": "a" * 5000})
    assert status == 413 and "quá dài" in json.loads(body)[0]["text"]
    # The assistant is still answering afterwards.
    assert assistant.say("e2e-7", "xin chào")


def test_conversations_are_kept_in_the_sqlite_tracker_store(assistant):
    assistant.say("e2e-8", "xin chào")
    with sqlite3.connect(assistant.tracker_db) as db:
        rows = db.execute(
            "SELECT count(*) FROM events WHERE sender_id = ? AND type_name = 'user'",
            (assistant.conversation("e2e-8"),),
        ).fetchone()
    assert rows[0] >= 1
