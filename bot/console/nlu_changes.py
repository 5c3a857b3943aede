"""The two changes the console makes to training data: reviewed examples and new intents.

The console never edits hand-written files. It owns exactly four generated
files: ``data/nlu/reviewed.yml`` (approved annotations) and, for intents
created in the console, ``domain/custom_intents.yml``,
``data/nlu/custom_intents.yml`` and ``data/rules/custom_intents.yml``. Every
write is checked with ``rasa data validate`` and undone if the check fails, so
the data that ``make train`` reads is never left broken. The file layer under
both is ``bot.console.nludata``.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from sqlalchemy import select

from bot.console.db import Annotation, Database, now
from bot.console.nludata import (
    DATA_LOCK,
    INTENT_NAME,
    RESERVED_PREFIXES,
    Transaction,
    clean_example,
    domain_names,
    dump_yaml,
    examples_in,
    heldout_key,
    heldout_keys,
    nlu_examples,
    read_yaml,
    render_nlu,
    reviewable_intents,
    same_key,
    validate,
)
from bot.console.settings import Settings, shown
from dichvucong.privacy import MASK

audit = logging.getLogger("bot.console.audit")


class DataError(ValueError):
    """Refused change of the training data; the message is Vietnamese."""


# --- export of reviewed examples ---------------------------------------------------


@dataclass
class ExportReport:
    exported: int = 0
    by_intent: Dict[str, int] = field(default_factory=dict)
    skipped: Dict[str, int] = field(default_factory=dict)
    examples: List[Tuple[str, str]] = field(default_factory=list)
    path: str = ""

    SKIP_LABELS = {
        "duplicate": "đã có trong dữ liệu huấn luyện",
        "conflict": "đã có trong dữ liệu với ý định khác",
        "heldout": "trùng câu của tập kiểm tra (tests/nlu)",
        "personal": "chứa số cá nhân đã bị che",
        "unknown_intent": "ý định chưa có trong domain",
        "too_short": "quá ngắn",
    }

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def summary(self) -> str:
        text = f"Đã xuất {self.exported} câu vào {self.path}."
        if self.skipped:
            reasons = "; ".join(
                f"{n} câu {self.SKIP_LABELS.get(r, r)}" for r, n in sorted(self.skipped.items())
            )
            text += f" Bỏ qua: {reasons}."
        return text

    def as_dict(self) -> dict:
        return {
            "exported": self.exported,
            "by_intent": self.by_intent,
            "skipped": self.skipped,
            "path": self.path,
            "message": self.summary(),
        }


def _skip_reason(text: str, intent: str, earlier: str | None, heldout) -> str | None:
    """Why an approved example is not exported, or None to export it.

    ``earlier`` is the intent the same text already has (in the data or in
    this export).
    """
    if MASK in text:
        return "personal"
    if len(text) < 2 or text.startswith("/"):
        return "too_short"
    if heldout_key(text) in heldout:
        return "heldout"
    if earlier is not None:
        return "duplicate" if earlier == intent else "conflict"
    return None


def export_reviewed(db: Database, settings: Settings) -> ExportReport:
    """Rewrite reviewed.yml from every confirmed or corrected annotation."""
    with DATA_LOCK:
        with db.session() as session:
            annotations = list(
                session.scalars(
                    select(Annotation)
                    .where(Annotation.decision.in_(("confirmed", "corrected")))
                    .order_by(Annotation.id)
                )
            )
        target = settings.reviewed_file
        existing = nlu_examples(settings, exclude=[target])
        heldout = heldout_keys(settings)
        known = set(reviewable_intents(settings))
        report = ExportReport(path=str(shown(target)))
        chosen: Dict[str, Tuple[str, str]] = {}
        # Settled: exported, or skipped for good (a duplicate stays a duplicate).
        # Only a still-missing intent can change, so those stay pending.
        settled_ids = []
        for annotation in annotations:
            text = clean_example(annotation.text)
            key = same_key(text)
            if annotation.intent not in known:
                report.skip("unknown_intent")
                continue
            settled_ids.append(annotation.id)
            earlier = existing.get(key) or (chosen[key][0] if key in chosen else None)
            reason = _skip_reason(text, annotation.intent, earlier, heldout)
            if reason:
                report.skip(reason)
            else:
                chosen[key] = (annotation.intent, text)
        by_intent: Dict[str, List[str]] = {}
        for intent, text in chosen.values():
            by_intent.setdefault(intent, []).append(text)
        for intent in by_intent:
            by_intent[intent].sort(key=same_key)
        transaction = Transaction()
        transaction.write(
            target,
            render_nlu(by_intent, "examples approved in the review inbox")
            if by_intent else None,
        )
        ok, output = validate(settings)
        if not ok:
            transaction.rollback()
            raise DataError(
                "Dữ liệu xuất ra không qua được kiểm tra (rasa data validate); "
                "tệp cũ đã được giữ nguyên.\n" + output[-1500:]
            )
        stamp = now()
        with db.session() as session:
            for annotation in session.scalars(
                select(Annotation).where(Annotation.id.in_(settled_ids))
            ):
                annotation.exported_at = stamp
        report.exported = len(chosen)
        report.by_intent = {i: len(v) for i, v in sorted(by_intent.items())}
        report.examples = [(i, t) for i, t in chosen.values()]
        return report


# --- intents created in the console --------------------------------------------------


@dataclass
class CustomIntent:
    name: str
    examples: List[str]
    response: str


def custom_intents(settings: Settings) -> List[CustomIntent]:
    domain = read_yaml(settings.custom_domain_file)
    responses = domain.get("responses") or {}
    examples: Dict[str, List[str]] = {}
    for intent, text in examples_in([settings.custom_nlu_file]):
        examples.setdefault(intent, []).append(text)
    found = []
    for name in domain.get("intents") or []:
        texts = [r.get("text", "") for r in responses.get(f"utter_{name}") or []]
        found.append(CustomIntent(str(name), examples.get(name, []), texts[0] if texts else ""))
    return found


def _write_custom(settings: Settings, intents: List[CustomIntent], transaction: Transaction):
    what = "intents created in the console"
    domain = {
        "version": "3.1",
        "intents": [i.name for i in intents],
        "responses": {f"utter_{i.name}": [{"text": i.response}] for i in intents},
    }
    rules = {
        "version": "3.1",
        "rules": [
            {
                "rule": f"answer {i.name} (created in the console)",
                "steps": [{"intent": i.name}, {"action": f"utter_{i.name}"}],
            }
            for i in intents
        ],
    }
    transaction.write(settings.custom_domain_file, dump_yaml(domain, what))
    transaction.write(settings.custom_rules_file, dump_yaml(rules, what))
    transaction.write(
        settings.custom_nlu_file, render_nlu({i.name: i.examples for i in intents}, what)
    )


def parse_examples(raw: str) -> List[str]:
    seen, result = set(), []
    for line in (raw or "").splitlines():
        text = clean_example(line)
        if text and same_key(text) not in seen:
            seen.add(same_key(text))
            result.append(text)
    return result


def _checked_intent(name: str, examples_text: str, response: str):
    """The new intent's (name, examples, response), or DataError saying what is wrong."""
    name = (name or "").strip()
    if not INTENT_NAME.match(name) or name.startswith(RESERVED_PREFIXES):
        raise DataError(
            "Tên ý định gồm 3–49 ký tự: chữ thường không dấu, số và dấu gạch dưới, "
            "bắt đầu bằng một chữ cái (ví dụ: hoi_gio_lam_viec)."
        )
    examples = parse_examples(examples_text)
    response = unicodedata.normalize("NFC", (response or "").strip())
    if len(examples) < 2:
        raise DataError("Cần ít nhất 2 câu ví dụ khác nhau, mỗi câu một dòng.")
    if not response:
        raise DataError("Cần nhập câu trả lời của trợ lý.")
    if len(response) > 2000:
        raise DataError("Câu trả lời dài quá 2000 ký tự.")
    if any(MASK in text for text in examples + [response]):
        raise DataError("Câu ví dụ không được chứa số đã bị che (•).")
    return name, examples, response


def create_intent(
    settings: Settings, name: str, examples_text: str, response: str, who: str
) -> CustomIntent:
    name, examples, response = _checked_intent(name, examples_text, response)
    with DATA_LOCK:
        if name in domain_names(settings.domain_dir) or f"utter_{name}" in domain_names(
            settings.domain_dir
        ):
            raise DataError(f"Ý định {name} đã có trong domain.")
        heldout = heldout_keys(settings)
        leaked = [t for t in examples if heldout_key(t) in heldout]
        if leaked:
            raise DataError(
                "Các câu sau trùng tập kiểm tra (tests/nlu), không được dùng để huấn luyện: "
                + "; ".join(leaked[:5])
            )
        existing = nlu_examples(settings)
        taken = [f"{t} ({existing[same_key(t)]})" for t in examples if same_key(t) in existing]
        if taken:
            raise DataError("Các câu sau đã có trong dữ liệu huấn luyện: " + "; ".join(taken[:5]))
        intents = custom_intents(settings)
        created = CustomIntent(name, examples, response)
        transaction = Transaction()
        try:
            _write_custom(settings, [*intents, created], transaction)
        except OSError as error:
            transaction.rollback()
            raise DataError(f"Không ghi được tệp dữ liệu: {error}") from error
        ok, output = validate(settings)
        if not ok:
            transaction.rollback()
            raise DataError(
                "Ý định mới không qua được kiểm tra (rasa data validate); không có gì thay đổi.\n"
                + output[-1500:]
            )
    audit.info("intent %s created by %s with %d examples", name, who, len(examples))
    return created

