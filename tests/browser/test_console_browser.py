"""The console in headless Chromium (Debian's chromium and chromium-driver packages):
log in, review messages, export, train and compare a small model, promote, roll back.

The console runs as `make console` runs it (``python -m bot.console``) against a
copy of the training data with a 2-epoch DIET; this is the one real training of
the console tests. Skipped only when /usr/bin/chromium is missing outside CI.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.support.browser import make_driver, require_chromium
from tests.support.console import (
    PASSWORD,
    PHONE,
    ROOT,
    TRAINER,
    FakeRasa,
    add_users,
    make_workspace,
    sample_conversations,
    start_console,
    today_vn,
    write_tracker,
)
from tests.support.servers import MODEL, free_port

require_chromium()

try:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI"):
        raise
    pytest.skip("selenium is not installed in .venv", allow_module_level=True)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    root = tmp_path_factory.mktemp("console-browser")
    workspace = make_workspace(root / "workspace", heldout=("heldout_long.yml",))
    if MODEL.exists():
        shutil.copy2(MODEL, workspace.models / "current.tar.gz")
    tracker = write_tracker(root / "tracker.db", sample_conversations(today_vn()))
    database_url = f"sqlite:///{root / 'console.db'}"
    add_users(database_url)
    rasa = FakeRasa()
    port = free_port()
    env = dict(os.environ)
    env.update(
        workspace.env(),
        PYTHONPATH=str(ROOT),
        RASA_TELEMETRY_ENABLED="false",
        DATABASE_URL=database_url,
        TRACKER_DB=str(tracker),
        RASA_URL=rasa.url,
        RASA_API_TOKEN="test-token",
        CONSOLE_PORT=str(port),
    )
    process, url = start_console(root, env)
    yield {"url": url, "workspace": workspace, "rasa": rasa, "log": root / "console.log"}
    process.terminate()
    process.wait(timeout=30)
    rasa.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = make_driver(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def sign_in(browser, console, username=TRAINER, password=PASSWORD, start="/"):
    browser.delete_all_cookies()
    browser.get(console["url"] + start)
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "username")))
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-submit").click()


def flash_text(browser) -> str:
    try:
        return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".flash"))
    except StaleElementReferenceException:  # the page was replaced while reading it
        return ""


def test_login(browser, console):
    sign_in(browser, console, password="khong-dung-mat-khau", start="/conversations")
    error = WebDriverWait(browser, 20).until(
        EC.visibility_of_element_located((By.ID, "login-error")))
    assert "Sai tên đăng nhập hoặc mật khẩu" in error.text
    assert "/login" in browser.current_url
    sign_in(browser, console, start="/conversations")
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "conversations")))
    assert browser.current_url.endswith("/conversations")
    rows = browser.find_elements(By.CSS_SELECTOR, "#conversations tbody tr")
    assert len(rows) == 6
    assert "trang.trainer · Người huấn luyện" in browser.page_source
    browser.find_element(By.LINK_TEXT, "cho hỏi thủ tục gì đó ở xã").click()
    transcript = WebDriverWait(browser, 20).until(
        EC.presence_of_element_located((By.ID, "transcript")))
    assert "•••••••678" in transcript.text
    assert PHONE not in browser.page_source and "0912" not in browser.page_source
    cookies = {c["name"]: c for c in browser.get_cookies()}
    assert cookies["console_session"]["httpOnly"] is True
    assert cookies["console_session"]["sameSite"] == "Strict"


def _item(browser, text):
    for item in browser.find_elements(By.CSS_SELECTOR, "#inbox li.item"):
        if text in item.find_element(By.CSS_SELECTOR, "blockquote").text:
            return item
    raise AssertionError(f"{text!r} not in the inbox")


def test_review_messages_and_export(browser, console):
    sign_in(browser, console, start="/review")
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "inbox")))
    assert "6 tin nhắn" in browser.page_source

    fee = _item(browser, "lệ phí đổi bằng lái xe bao nhiêu")
    Select(fee.find_element(By.CSS_SELECTOR, ".procedure-select")).select_by_value("doi_gplx")
    fee.find_element(By.CSS_SELECTOR, "button.confirm").click()
    WebDriverWait(browser, 20).until(lambda b: "Đã lưu" in flash_text(b))
    assert "Đã lưu: Xác nhận → ask_fee." in flash_text(browser)
    assert "5 tin nhắn" in browser.page_source

    unclear = _item(browser, "cho hỏi thủ tục gì đó ở xã")
    Select(unclear.find_element(By.CSS_SELECTOR, ".intent-select")).select_by_value("ask_where")
    unclear.find_element(By.CSS_SELECTOR, "button.correct").click()
    WebDriverWait(browser, 20).until(lambda b: "Đã sửa" in flash_text(b))
    assert "ask_where" in flash_text(browser)

    noise = _item(browser, "hello bot")
    noise.find_element(By.CSS_SELECTOR, "button.noise").click()
    WebDriverWait(browser, 20).until(lambda b: "Nhiễu" in flash_text(b))

    browser.find_element(By.LINK_TEXT, "Huấn luyện và mô hình").click()
    WebDriverWait(browser, 20).until(EC.element_to_be_clickable((By.ID, "export-button"))).click()
    WebDriverWait(browser, 60).until(lambda b: "Đã xuất" in flash_text(b))
    assert "Đã xuất 2 câu" in flash_text(browser)
    reviewed = (console["workspace"].nlu / "reviewed.yml").read_text(encoding="utf-8")
    assert "- lệ phí đổi bằng lái xe bao nhiêu" in reviewed
    assert "- cho hỏi thủ tục gì đó ở xã" in reviewed and "hello bot" not in reviewed


def test_train_compare_promote_and_roll_back(browser, console):
    sign_in(browser, console, start="/training")
    WebDriverWait(browser, 20).until(EC.element_to_be_clickable((By.ID, "train-button"))).click()
    bar = WebDriverWait(browser, 20).until(
        EC.presence_of_element_located((By.ID, "job-progress")))
    assert "/training/jobs/" in browser.current_url
    seen = set()
    deadline = time.time() + 480
    while time.time() < deadline:
        try:
            status = browser.find_element(By.ID, "job-status").text
            seen.add(int(float(browser.find_element(By.ID, "job-progress")
                               .get_attribute("value"))))
        except Exception:  # the page reloads itself when the job ends
            time.sleep(0.5)
            continue
        if status in ("Hoàn tất", "Thất bại"):
            break
        time.sleep(0.5)
    assert bar is not None
    if status != "Hoàn tất":
        errors = browser.find_elements(By.ID, "job-error")
        raise AssertionError(
            (errors[0].text if errors else status) + console["log"].read_text()[-2000:])
    # The bar moved while the page stayed open (the script polls the job).
    assert any(0 < value < 100 for value in seen), seen
    assert browser.find_element(By.ID, "job-progress").get_attribute("value") == "100"
    overall = browser.find_element(By.ID, "overall").text
    assert "Độ chính xác ý định" in overall and "F1 trung bình" in overall
    per_intent = browser.find_elements(By.CSS_SELECTOR, "#per-intent tbody tr")
    assert len(per_intent) >= 5

    browser.find_element(By.ID, "promote-button").click()
    WebDriverWait(browser, 10).until(EC.alert_is_present()).accept()
    WebDriverWait(browser, 120).until(lambda b: "vào dùng" in flash_text(b))
    assert "Máy chủ Rasa đã nạp mô hình mới." in flash_text(browser)
    models = console["workspace"].models
    assert console["rasa"].calls[-1]["body"] == {
        "model_file": str((models / "current.tar.gz").resolve())}
    active = browser.find_element(By.CSS_SELECTOR, "#versions tr.status-active")
    version = active.get_attribute("data-version")
    assert (models / "versions" / f"{version}.tar.gz").exists()
    assert browser.find_element(By.ID, "current-version").text == version

    if MODEL.exists():  # the model that was current before is kept and can come back
        older = browser.find_element(By.CSS_SELECTOR, "#versions tr.status-retired")
        older_id = older.get_attribute("data-version")
        older.find_element(By.CSS_SELECTOR, "button.rollback").click()
        WebDriverWait(browser, 10).until(EC.alert_is_present()).accept()
        WebDriverWait(browser, 120).until(lambda b: "Đã quay lại" in flash_text(b))
        assert browser.find_element(By.ID, "current-version").text == older_id
        assert (models / "current.tar.gz").read_bytes() == MODEL.read_bytes()
        assert len(console["rasa"].calls) == 2
