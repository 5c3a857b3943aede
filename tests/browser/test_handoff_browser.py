"""The live handoff round trip in headless Chromium: a citizen on the web chat page asks
for a person, an operator takes the question in the console, answers (typed and a
suggested knowledge-base answer), the assistant stays silent, the operator ends and the
assistant is back. The real assistant (a model trained with the handoff) and the
console (``python -m bot.console``) share one dossier database, as in production.
Office hours are forced open (HANDOFF_HOURS) so the test does not depend on the hour.
"""
from __future__ import annotations

import os
import time

import pytest

from bot.channels.webchat import FORWARDED
from tests.support.browser import make_driver, require_chromium
from tests.support.console import OPERATOR, PASSWORD, ROOT, add_operators, start_console
from tests.support.servers import MODEL, Assistant, free_port

require_chromium()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ALWAYS_OPEN = {"HANDOFF_HOURS": "Mon-Sun 00:00-24:00"}
QUESTION = "cho tôi gặp cán bộ"
TAKEN = "Cán bộ đã nhận câu hỏi của bạn"
ENDED = "Cuộc trò chuyện với cán bộ đã kết thúc"
REPLY = "Chào bạn, tôi là cán bộ phường, tôi sẽ hướng dẫn bạn."


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (or set ASSISTANT_TEST_MODEL)")
    root = tmp_path_factory.mktemp("handoff-browser")
    assistant = Assistant(root, extra_env=ALWAYS_OPEN)
    assistant.start()
    add_operators(assistant.database_url)
    port = free_port()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false",
        DATABASE_URL=assistant.database_url, TRACKER_DB=str(assistant.tracker_db),
        RASA_URL=assistant.url, RASA_API_TOKEN=assistant.token, CONSOLE_PORT=str(port),
        **ALWAYS_OPEN,
    )
    console, url = start_console(root, env)
    citizen = make_driver(root / "citizen-profile")
    operator = make_driver(root / "operator-profile")
    try:
        yield assistant, url, citizen, operator
    finally:
        citizen.quit()
        operator.quit()
        console.terminate()
        console.wait(timeout=30)
        assistant.stop()


def bot_messages(driver):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.bot")]


def wait_for_bot(driver, contains, timeout=90):
    WebDriverWait(driver, timeout).until(
        lambda d: any(contains in text for text in bot_messages(d)))
    return next(text for text in reversed(bot_messages(driver)) if contains in text)


def transcript(driver):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#transcript li")]


def test_citizen_and_operator_round_trip(stack):
    assistant, console, citizen, operator = stack

    citizen.get(f"{assistant.url}/webhooks/webchat/")
    citizen.find_element(By.ID, "text").send_keys(QUESTION, Keys.ENTER)
    queued = wait_for_bot(citizen, "cán bộ hỗ trợ")
    assert "Một cán bộ sẽ trả lời bạn ngay tại đây" in queued
    assert "Bạn là người tiếp theo" in queued  # the position in the queue

    operator.get(console + "/login")
    operator.find_element(By.NAME, "username").send_keys(OPERATOR)
    operator.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
    WebDriverWait(operator, 30).until(lambda d: "/login" not in d.current_url)
    operator.find_element(By.LINK_TEXT, "Hàng chờ gặp cán bộ").click()
    row = WebDriverWait(operator, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#queue tbody tr[id^=ticket-]"))[0]
    assert QUESTION in row.text and "Web" in row.text
    row.find_element(By.CSS_SELECTOR, "button.take").click()
    WebDriverWait(operator, 30).until(lambda d: d.find_elements(By.ID, "reply-text"))
    assert "Bạn đã nhận yêu cầu" in operator.page_source
    assert any(QUESTION in line for line in transcript(operator))

    wait_for_bot(citizen, TAKEN)

    operator.find_element(By.ID, "reply-text").send_keys(REPLY)
    operator.find_element(By.ID, "send").click()
    WebDriverWait(operator, 30).until(lambda d: "Đã gửi tới người dân." in d.page_source)
    assert wait_for_bot(citizen, REPLY).startswith("Cán bộ: ")

    # A suggested knowledge-base answer, in one click (procedure chosen by the operator).
    operator.get(operator.current_url.split("?")[0].split("#")[0] + "?procedure=khai_sinh")
    suggestion = operator.find_elements(By.CSS_SELECTOR, ".suggestion")[0]
    heading = suggestion.find_element(By.CSS_SELECTOR, ".text").text.splitlines()[0]
    suggestion.find_element(By.CSS_SELECTOR, "button.send-suggestion").click()
    WebDriverWait(operator, 30).until(lambda d: "Đã gửi tới người dân." in d.page_source)
    assert "Nguồn" in wait_for_bot(citizen, heading)

    # The citizen writes: the operator sees it without reloading, the assistant is silent.
    before = len(bot_messages(citizen))
    citizen.find_element(By.ID, "text").send_keys("lệ phí đổi bằng lái xe bao nhiêu",
                                                  Keys.ENTER)
    WebDriverWait(operator, 60).until(
        lambda d: any("lệ phí đổi bằng lái xe" in line for line in transcript(d)))
    time.sleep(3)  # give a wrongly-awake assistant the time to answer
    # No answer from the assistant, only the note that the message went to the operator.
    assert all(text == FORWARDED for text in bot_messages(citizen)[before:])

    operator.find_element(By.ID, "end").click()
    alert = WebDriverWait(operator, 10).until(lambda d: d.switch_to.alert)
    alert.accept()
    WebDriverWait(operator, 30).until(lambda d: "Đã kết thúc yêu cầu" in d.page_source)
    assert ENDED in wait_for_bot(citizen, ENDED)

    before = len(bot_messages(citizen))
    citizen.find_element(By.ID, "text").send_keys("lệ phí đổi bằng lái xe bao nhiêu",
                                                  Keys.ENTER)
    WebDriverWait(citizen, 90).until(lambda d: len(bot_messages(d)) > before)
    assert bot_messages(citizen)[-1].startswith("Lệ phí – ")
