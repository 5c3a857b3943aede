"""The live-handoff queue from the command line: the sweep for cron, and a listing.

    python -m bot.cli.handoff expire [--database-url URL]
    python -m bot.cli.handoff list [--database-url URL]

``expire`` closes conversations idle past HANDOFF_IDLE_MINUTES and drops
requests queued longer than HANDOFF_QUEUED_LIMIT_MINUTES, telling each citizen
through the Rasa API (RASA_URL, RASA_API_TOKEN). Run it every minute or two.
"""
from __future__ import annotations

import sys
from typing import List, Optional

from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.cli.common import ExitCode, Parser, err, out
from dichvucong.dossiers.models import VIETNAM_TZ
from dichvucong.handoff import relay
from dichvucong.handoff.queue import HandoffQueue
from dichvucong.rasa_api import RasaApi
from dichvucong.settings import settings

STATUS_LABELS = {"queued": "đang chờ", "active": "đang trao đổi"}


def build_parser() -> Parser:
    parser = Parser(prog="python -m bot.cli.handoff",
                    description="Hàng chờ chuyển cuộc trò chuyện cho cán bộ.")
    parser.add_argument("command", choices=("expire", "list"),
                        help="expire: kết thúc các cuộc trò chuyện quá hạn; list: liệt kê hàng chờ")
    parser.add_argument("--database-url", default=None,
                        help="cơ sở dữ liệu hồ sơ (mặc định DATABASE_URL)")
    return parser


def _time(value) -> str:
    return value.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M")


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        queue = HandoffQueue(args.database_url or settings().dossiers.database_url)
        if args.command == "expire":
            api = RasaApi(settings().rasa_api.url, settings().rasa_api.token)
            ended = relay.end_expired(api, queue)
            out(f"Đã kết thúc {len(ended)} yêu cầu quá hạn.")
            return int(ExitCode.OK)
        tickets = queue.queued() + queue.active()
        if not tickets:
            out("Không có yêu cầu nào đang chờ hoặc đang trao đổi.")
        for ticket in tickets:
            who = f", cán bộ {ticket.taken_by}" if ticket.taken_by else ""
            out(f"#{ticket.id} {ticket.conversation_id} {STATUS_LABELS[ticket.status]}"
                f"{who}, từ {_time(ticket.created_at)}: {ticket.question or ''}")
        return int(ExitCode.OK)
    except (OperationalError, ProgrammingError):
        err("cơ sở dữ liệu chưa có bảng hàng chờ; chạy `python -m bot.cli.dossiers migrate` trước.")
        return int(ExitCode.FAILED)
    except Exception as error:  # one line for staff, never a traceback
        err(str(error) or error.__class__.__name__)
        return int(ExitCode.FAILED)


if __name__ == "__main__":
    sys.exit(main())
