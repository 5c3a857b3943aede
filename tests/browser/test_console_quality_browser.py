"""Quality review in headless Chromium: a reviewer tags a conversation with a
knowledge-base follow-up, sees the procedure file to update, finds it again through
the tag filters, and the overview shows the resolution rate.

Reuses the console process and browser fixtures of ``test_console_browser`` (a
console of its own for this module; no training here).
"""

from __future__ import annotations

from tests.browser.test_console_browser import (  # noqa: F401  (fixtures)
    EC,
    By,
    Select,
    WebDriverWait,
    browser,
    console,
    flash_text,
    sign_in,
)
from tests.support.console import REVIEWER


def test_a_reviewer_tags_a_conversation_and_filters_by_the_tag(browser, console):  # noqa: F811
    sign_in(browser, console, username=REVIEWER, start="/conversations")
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "conversations")))
    browser.find_element(By.LINK_TEXT, "lệ phí đổi bằng lái xe bao nhiêu").click()
    form = WebDriverWait(browser, 20).until(
        EC.presence_of_element_located((By.ID, "tag-form")))
    form.find_element(By.NAME, "theme").send_keys("Lệ phí")
    Select(form.find_element(By.NAME, "quality")).select_by_value("chua_dat")
    Select(form.find_element(By.NAME, "follow_up")).select_by_value("update_knowledge")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: "Đã lưu đánh giá" in flash_text(b))
    assert "data/procedures/doi_gplx.yml" in flash_text(browser)
    assert "data/procedures/doi_gplx.yml" in browser.find_element(By.ID, "kb-file").text

    browser.get(console["url"] + "/conversations")
    filters = WebDriverWait(browser, 20).until(
        EC.presence_of_element_located((By.ID, "conversation-filters")))
    Select(filters.find_element(By.NAME, "follow_up")).select_by_value("update_knowledge")
    filters.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: "follow_up=update_knowledge" in b.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#conversations tbody tr")
    assert len(rows) == 1 and "Cập nhật cơ sở tri thức" in rows[0].text
    # Reviewers see no export links (trainers export).
    assert not browser.find_elements(By.ID, "export-csv")

    browser.get(console["url"] + "/")
    resolved = WebDriverWait(browser, 20).until(
        EC.presence_of_element_located((By.ID, "kpi-resolved")))
    assert resolved.text.endswith("%")
