"""Scaffolding every staff command line shares: parser, exit codes, output helpers.

Staff read Vietnamese; argparse's own messages stay English but are
introduced in Vietnamese, and every error ends in one line without a traceback.
"""

from __future__ import annotations

import argparse
import enum
import sys
from pathlib import Path

from dichvucong.settings import PROJECT_ROOT


class ExitCode(enum.IntEnum):
    OK = 0  # done
    PARTIAL = 1  # done in part (some rows rejected, or a notice failed)
    FAILED = 2  # nothing done because of an error


class CommandError(Exception):
    """A problem to report in one line, without a traceback."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose syntax errors are introduced in Vietnamese."""

    def error(self, message: str) -> None:  # argparse's own wording stays English
        self.print_usage(sys.stderr)
        self.exit(int(ExitCode.FAILED), f"Lỗi cú pháp lệnh: {message}\n")


def relative_to_root(path: Path) -> Path:
    """``path`` relative to the project folder when it lies inside it."""
    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT.resolve())
    except ValueError:
        return Path(path)


def out(text: str = "") -> None:
    print(text)


def err(text: str) -> None:
    print(f"Lỗi: {text}", file=sys.stderr)
