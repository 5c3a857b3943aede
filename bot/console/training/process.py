"""Subprocesses of a training job (``rasa train``, the evaluation), read line by line.

tqdm redraws its bar with "\\r", so a "line" ends at either "\\r" or "\\n";
colour codes are dropped. Every process started here is tracked, so that the
console's shutdown (or Ctrl-C in the command line) can stop them.
"""

from __future__ import annotations

import re
import subprocess
import threading
from typing import Callable, Dict, List, Tuple

from bot.console.settings import ROOT
from dichvucong.settings import rasa_env

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TAIL_LINES = 60


class Processes:
    def __init__(self) -> None:
        self._running: List[subprocess.Popen] = []

    def terminate(self) -> None:
        for process in list(self._running):
            if process.poll() is None:
                process.terminate()

    def stream(
        self,
        command: List[str],
        on_line: Callable[[str], None],
        timeout: float,
        env: Dict[str, str] | None = None,
    ) -> Tuple[int, List[str]]:
        """Run ``command``, feeding each line to ``on_line``; (exit code, last lines)."""
        full_env = rasa_env(**(env or {}))
        process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._running.append(process)
        tail: List[str] = []

        def emit(raw: bytes) -> None:
            line = ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()
            if not line:
                return
            on_line(line)
            tail.append(line)
            del tail[:-TAIL_LINES]

        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            buffer = b""
            while True:
                chunk = process.stdout.read1(4096) if hasattr(process.stdout, "read1") else (
                    process.stdout.read(4096)
                )
                if not chunk:
                    break
                buffer += chunk
                parts = re.split(rb"[\r\n]", buffer)
                buffer = parts.pop()
                for part in parts:
                    emit(part)
            if buffer.strip():
                emit(buffer)
            code = process.wait()
        finally:
            timer.cancel()
            self._running.remove(process)
        return code, tail
