"""The web chat page in headless Chromium against the real assistant."""
import pytest

from tests.support.browser import make_driver, require_chromium

require_chromium()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def page(assistant, tmp_path_factory):
    driver = make_driver(tmp_path_factory.mktemp("webchat-profile"))
    driver.get(f"{assistant.url}/webhooks/webchat/")
    yield driver
    driver.quit()


def bot_messages(driver):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.bot")]


def wait_for_reply(driver, count_before, timeout=60):
    WebDriverWait(driver, timeout).until(lambda d: len(bot_messages(d)) > count_before)
    return bot_messages(driver)[-1]


def test_typing_a_question_and_pressing_a_button(page):
    assert "Trợ lý dịch vụ công" in page.title
    before = len(bot_messages(page))
    box = page.find_element(By.ID, "text")
    box.send_keys("lệ phí đổi bằng lái xe bao nhiêu", Keys.ENTER)
    reply = wait_for_reply(page, before)
    assert reply.startswith("Lệ phí – ")
    assert "Nguồn:" in reply

    before = len(bot_messages(page))
    button = page.find_elements(By.XPATH, "//div[@class='buttons']/button[contains(., 'Cách làm online')]")[-1]
    button.click()
    reply = wait_for_reply(page, before)
    assert reply.startswith("Nộp trực tuyến – ")
    # The button's title is shown as the citizen's message, not the raw payload.
    mine = [e.text for e in page.find_elements(By.CSS_SELECTOR, ".msg.me")]
    assert mine[-1] == "Cách làm online"


def test_links_in_answers_are_clickable_and_text_is_not_html(page):
    before = len(bot_messages(page))
    page.find_element(By.ID, "text").send_keys("<b>tra cứu hồ sơ</b>", Keys.ENTER)
    wait_for_reply(page, before)
    assert page.find_elements(By.CSS_SELECTOR, ".msg.me b") == []
    assert any("<b>" in e.text for e in page.find_elements(By.CSS_SELECTOR, ".msg.me"))
