"""Staff accounts, password hashing, server-side sessions, CSRF tokens and login throttling.

Passwords are hashed with Argon2id (argon2-cffi). A session is a random token
in an HttpOnly, SameSite=Strict cookie; the database keeps only its SHA-256,
the user, a per-session CSRF token and two expiries (absolute and idle).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import List

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select

from bot.console.db import OPERATOR_ROLES, ROLES, ConsoleSession, ConsoleUser, Database, now
from dichvucong.throttle import Policy, Throttle, minutes_left

MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

_hasher = PasswordHasher()
# Verified against when the account does not exist, so that a wrong name
# costs as long as a wrong password and names cannot be probed by timing.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AuthError(ValueError):
    """Refused request; the message is Vietnamese and shown to staff as is."""


class LoginThrottled(AuthError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.")
    if password.strip() != password:
        raise AuthError("Mật khẩu không được bắt đầu hay kết thúc bằng khoảng trắng.")


def normalize_username(name: str) -> str:
    name = (name or "").strip().lower()
    if not USERNAME.match(name):
        raise AuthError(
            "Tên đăng nhập gồm 2–64 ký tự: chữ thường không dấu, số, dấu chấm, gạch nối, gạch dưới."
        )
    return name


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Authenticated:
    """What a request handler needs to know about the signed-in person."""

    user_id: int
    username: str
    role: str
    csrf_token: str
    session_id: int
    flash: List[dict]

    @property
    def is_trainer(self) -> bool:
        return self.role == "trainer"

    @property
    def is_operator(self) -> bool:
        return self.role in OPERATOR_ROLES


class Accounts:
    def __init__(
        self,
        db: Database,
        *,
        session_hours: float = 8,
        idle_minutes: float = 60,
        max_failures: int = 5,
        lock_minutes: int = 15,
        max_failures_per_ip: int = 30,
    ) -> None:
        self.db = db
        self.session_lifetime = dt.timedelta(hours=session_hours)
        self.idle = dt.timedelta(minutes=idle_minutes)
        self.max_failures = max_failures
        self.max_failures_per_ip = max_failures_per_ip
        self.lock = dt.timedelta(minutes=lock_minutes)
        self.throttle = Throttle(db._sessions, self._policy)

    # --- accounts ------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str) -> ConsoleUser:
        username = normalize_username(username)
        if role not in ROLES:
            raise AuthError(f"Vai trò phải là một trong: {', '.join(ROLES)}.")
        check_password_policy(password)
        with self.db.session() as session:
            if session.scalar(select(ConsoleUser).where(ConsoleUser.username == username)):
                raise AuthError(f"Tài khoản {username!r} đã tồn tại.")
            user = ConsoleUser(
                username=username,
                password_hash=hash_password(password),
                role=role,
                active=True,
                created_at=now(),
            )
            session.add(user)
            session.flush()
            return user

    def users(self) -> List[ConsoleUser]:
        with self.db.session() as session:
            return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))

    def set_active(self, username: str, active: bool) -> ConsoleUser:
        username = (username or "").strip().lower()
        with self.db.session() as session:
            user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
            if user is None:
                raise AuthError(f"Không có tài khoản {username!r}.")
            user.active = active
            if not active:
                # A disabled account is signed out everywhere at once.
                session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
            return user

    def set_password(self, username: str, password: str) -> None:
        check_password_policy(password)
        with self.db.session() as session:
            user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
            if user is None:
                raise AuthError(f"Không có tài khoản {username!r}.")
            user.password_hash = hash_password(password)
            session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))

    # --- throttling (dichvucong.throttle, shared with dossier lookups) --------

    def _policy(self, key: str) -> Policy:
        limit = self.max_failures_per_ip if key.startswith("ip:") else self.max_failures
        # A fixed lock: staff locked out call the administrator, who can reset them.
        return Policy(max_failures=limit, lock=self.lock, window=self.lock, max_lock=self.lock)

    @staticmethod
    def _keys(username: str, address: str | None):
        user_key = "user:" + (username or "").strip().lower()[:190]
        ip_key = "ip:" + (address or "unknown")[:190]
        return user_key, ip_key

    # --- login and sessions ----------------------------------------------------

    def login(self, username: str, password: str, address: str | None = None):
        """Check the password and open a session; returns (cookie token, Authenticated)."""
        at = now()
        user_key, ip_key = self._keys(username, address)
        until = self.throttle.attempt((user_key, ip_key), at)
        if until:
            raise LoginThrottled(
                f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes_left(until, at)} phút."
            )
        failed = False
        with self.db.session() as session:
            name = (username or "").strip().lower()
            user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == name))
            try:
                _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
                valid = user is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                valid = False
            if not valid:
                failed = True
                error = AuthError("Sai tên đăng nhập hoặc mật khẩu.")
            elif not user.active:
                # Said only to someone who knows the password.
                error = AuthError("Tài khoản này đã bị vô hiệu hóa. Liên hệ quản trị viên.")
            else:
                error = None
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = hash_password(password)
                user.last_login_at = at
                # Expired sessions of everyone are swept here rather than by a cron job.
                session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < at))
                token = secrets.token_urlsafe(32)
                record = ConsoleSession(
                    token_hash=token_digest(token),
                    user_id=user.id,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=at,
                    last_seen_at=at,
                    expires_at=at + self.session_lifetime,
                    flash=[],
                )
                session.add(record)
                session.flush()
                auth = Authenticated(
                    user.id, user.username, user.role, record.csrf_token, record.id, []
                )
        if not failed:
            # The reserved try was not a failure: forget it (and the account's streak).
            self.throttle.forgive((ip_key,))
            if error is None:
                self.throttle.unlock((user_key,))
            else:
                self.throttle.forgive((user_key,))
        if error:
            raise error
        return token, auth

    def authenticate(self, token: str | None) -> Authenticated | None:
        """The live session of a cookie token, refreshing its idle timer; None otherwise."""
        if not token or len(token) > 200:
            return None
        at = now()
        with self.db.session() as session:
            record = session.scalar(
                select(ConsoleSession).where(ConsoleSession.token_hash == token_digest(token))
            )
            if record is None:
                return None
            if record.expires_at <= at or record.last_seen_at + self.idle <= at or not (
                record.user.active
            ):
                session.delete(record)
                return None
            record.last_seen_at = at
            flash = list(record.flash or [])
            if flash:
                record.flash = []
            return Authenticated(
                record.user_id,
                record.user.username,
                record.user.role,
                record.csrf_token,
                record.id,
                flash,
            )

    def add_flash(self, session_id: int, kind: str, text: str) -> None:
        with self.db.session() as session:
            record = session.get(ConsoleSession, session_id)
            if record is not None:
                record.flash = [*(record.flash or []), {"kind": kind, "text": text}]

    def logout(self, token: str | None) -> None:
        if not token:
            return
        with self.db.session() as session:
            session.execute(
                delete(ConsoleSession).where(ConsoleSession.token_hash == token_digest(token))
            )


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)
