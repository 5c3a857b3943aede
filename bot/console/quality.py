"""Quality review of whole conversations: a theme, an answer-quality level and a
follow-up per conversation (table ``console_conversation_tags``).

The scale, the suggested themes and the offices' on-time targets are read from
a YAML file (``Settings.quality_file``) so that a province changes them without
touching code. Tags are found by the digest of the sender id, so that every
list, whatever date range it scans, shows the same tag. A knowledge-base
follow-up names the procedure file to update (``data/procedures/<id>.yml``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml
from sqlalchemy import select

from bot.console import audit
from bot.console import conversation as conv
from bot.console.db import FOLLOW_UPS, ConversationTag, Database, now
from bot.console.tracker_reader import TrackerReader
from dichvucong.knowledge.base import PROCEDURE_IDS

# Who may tag: the reviewing roles, not a future operator role.
TAGGING_ROLES = frozenset({"reviewer", "trainer"})
FOLLOW_UP_LABELS = {
    "update_knowledge": "Cập nhật cơ sở tri thức",
    "add_training": "Bổ sung dữ liệu huấn luyện",
    "contact_citizen": "Liên hệ lại người dân",
    "none": "Không cần làm gì",
}
KNOWLEDGE_FOLLOW_UP = "update_knowledge"
THEME_MAX = 100
DEFAULT_TARGET = 0.99


class TagError(ValueError):
    """A tag that cannot be stored; the message is Vietnamese."""


@dataclass(frozen=True)
class QualityConfig:
    levels: Tuple[Tuple[str, str], ...]  # (code, label), best first
    themes: Tuple[str, ...]
    default_target: float = DEFAULT_TARGET
    office_targets: Dict[str, float] = field(default_factory=dict)

    @property
    def level_labels(self) -> Dict[str, str]:
        return dict(self.levels)

    def target_for(self, office: str) -> float:
        return self.office_targets.get(office, self.default_target)


def _target(value: Any, default: float) -> float:
    try:
        target = float(value)
    except (TypeError, ValueError):
        return default
    return target if 0 < target <= 1 else default


def _levels(raw: Iterable[Any]) -> Tuple[Tuple[str, str], ...]:
    levels = []
    for item in raw or []:
        if isinstance(item, dict) and item.get("code"):
            code = str(item["code"])[:32]
            levels.append((code, str(item.get("label") or code)))
    return tuple(levels)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> QualityConfig:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    targets = data.get("on_time_target") or {}
    default = _target(targets.get("default"), DEFAULT_TARGET)
    levels = _levels(data.get("levels"))
    if not levels:
        raise TagError(f"{path}: cần ít nhất một mức chất lượng (levels).")
    return QualityConfig(
        levels=levels,
        themes=tuple(str(t)[:THEME_MAX] for t in data.get("themes") or [] if t),
        default_target=default,
        office_targets={
            str(office): _target(value, default)
            for office, value in (targets.get("offices") or {}).items()
        },
    )


def config(path: Path) -> QualityConfig:
    """The scale file, re-read when it changes (a province edits it while running)."""
    return _load(Path(path), Path(path).stat().st_mtime)


def procedure_file(procedure: Optional[str]) -> Optional[str]:
    """The knowledge-base file a follow-up should change, when the procedure is known."""
    if procedure in PROCEDURE_IDS:
        return f"data/procedures/{procedure}.yml"
    return None


def _clean(body: Dict[str, Any], cfg: QualityConfig) -> Dict[str, Any]:
    theme = " ".join(str(body.get("theme") or "").split())
    quality = str(body.get("quality") or "")
    follow_up = str(body.get("follow_up") or "")
    procedure = str(body.get("procedure") or "").strip() or None
    if not theme:
        raise TagError("Hãy ghi chủ đề của hội thoại.")
    if len(theme) > THEME_MAX:
        raise TagError(f"Chủ đề dài quá {THEME_MAX} ký tự.")
    if quality not in cfg.level_labels:
        raise TagError("Mức chất lượng không có trong thang đánh giá.")
    if follow_up not in FOLLOW_UPS:
        raise TagError("Việc cần làm tiếp không hợp lệ.")
    if procedure is not None and procedure not in PROCEDURE_IDS:
        raise TagError("Thủ tục không có trong cơ sở tri thức.")
    # Free text typed by staff may still hold a number: masked like everything else.
    return {"theme": conv.safe_text(theme), "quality": quality, "follow_up": follow_up,
            "procedure": procedure}


def tag_conversation(
    reader: TrackerReader, db: Database, key: int, body: Dict[str, Any], *,
    cfg: QualityConfig, user_id: int, username: str, address: Optional[str] = None,
    low_confidence: float = 0.7,
) -> Tuple[ConversationTag, conv.Conversation]:
    """Create or change the tag of the conversation that event ``key`` belongs to."""
    rows = reader.conversation(key)
    if not rows:
        raise TagError("Không có hội thoại này.")
    conversation = conv.build(rows, low_confidence)
    fields = _clean(body, cfg)
    if fields["procedure"] is None:
        fields["procedure"] = conversation.procedure_slot
    with db.session() as session:
        tag = session.execute(
            select(ConversationTag).where(
                ConversationTag.sender_digest == conversation.sender_digest)
        ).scalar_one_or_none()
        changed = tag is not None
        if tag is None:
            tag = ConversationTag(sender_digest=conversation.sender_digest,
                                  conversation_key=key)
            session.add(tag)
        for name, value in fields.items():
            setattr(tag, name, value)
        tag.tagged_by, tag.updated_at = user_id, now()
        session.flush()
        session.refresh(tag)
    action = audit.RETAG_CONVERSATION if changed else audit.TAG_CONVERSATION
    audit.record(db, username, action,
                 f"{key}: {fields['quality']}/{fields['follow_up']}", address)
    return tag, conversation


def tags_by_digest(db: Database, digests: Iterable[str] | None = None
                   ) -> Dict[str, ConversationTag]:
    """Tags keyed by sender digest: all of them, or those of the given conversations."""
    query = select(ConversationTag)
    if digests is not None:
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        query = query.where(ConversationTag.sender_digest.in_(wanted))
    with db.session() as session:
        return {t.sender_digest: t for t in session.execute(query).scalars()}


def tag_for(db: Database, digest: str) -> Optional[ConversationTag]:
    return tags_by_digest(db, [digest]).get(digest)


def themes_in_use(db: Database) -> List[str]:
    with db.session() as session:
        found = session.execute(select(ConversationTag.theme).distinct()).scalars()
        return sorted(found)


def tag_dict(tag: Optional[ConversationTag], cfg: QualityConfig) -> Optional[Dict[str, Any]]:
    if tag is None:
        return None
    return {
        "theme": tag.theme,
        "quality": tag.quality,
        "quality_label": cfg.level_labels.get(tag.quality, tag.quality),
        "follow_up": tag.follow_up,
        "follow_up_label": FOLLOW_UP_LABELS.get(tag.follow_up, tag.follow_up),
        "procedure": tag.procedure,
        "procedure_file": procedure_file(tag.procedure)
        if tag.follow_up == KNOWLEDGE_FOLLOW_UP else None,
        "tagged_by": tag.tagger.username if tag.tagger else None,
        "updated_at": tag.updated_at.isoformat() if tag.updated_at else None,
    }
