"""Chat with the assistant in a terminal, through its REST channel.

``rasa shell`` would start a second server with Rasa's unchecked built-in REST
channel; this client talks to the running assistant instead, so the terminal
gets exactly the checks every other channel gets. Buttons are numbered: type
the number to press one.

    python -m bot.terminal [--url http://127.0.0.1:5005]
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional

from dichvucong.settings import settings


def send(url: str, sender: str, text: str, token: Optional[str] = None) -> List[Dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, method="POST",
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"[]")
    except urllib.error.HTTPError as error:
        try:
            return json.loads(error.read())
        except ValueError:
            return [{"text": f"Lỗi {error.code} từ trợ lý."}]


def show(messages: List[Dict[str, Any]], out=sys.stdout) -> List[Dict[str, Any]]:
    """Print the bot's messages; returns the buttons offered, in order."""
    buttons: List[Dict[str, Any]] = []
    for message in messages:
        if message.get("text"):
            print(f"🤖 {message['text']}", file=out)
        for button in message.get("buttons") or []:
            buttons.append(button)
            print(f"   [{len(buttons)}] {button.get('title')}", file=out)
    if not messages:
        print("🤖 (không có câu trả lời)", file=out)
    return buttons


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="Trò chuyện với trợ lý trong cửa sổ dòng lệnh.")
    parser.add_argument("--url", default=settings().rasa_api.url)
    args = parser.parse_args(argv)
    sender = "terminal-" + uuid.uuid4().hex[:12]
    token = settings().channels.rest_token or None
    print("Gõ câu hỏi rồi Enter; gõ số để bấm nút; Ctrl-D hoặc /stop để thoát.")
    buttons: List[Dict[str, Any]] = []
    while True:
        try:
            line = input("Bạn: ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line == "/stop":
            return 0
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            line = str(buttons[int(line) - 1].get("payload") or buttons[int(line) - 1].get("title"))
        try:
            buttons = show(send(args.url, sender, line, token))
        except (urllib.error.URLError, OSError) as error:
            print(f"Không kết nối được với trợ lý ({error}).", file=sys.stderr)
            buttons = []


if __name__ == "__main__":
    sys.exit(main())
