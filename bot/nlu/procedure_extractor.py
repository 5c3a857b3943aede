"""Rule-based extractor that resolves procedure names to knowledge-base ids.

The names citizens use live next to the facts, in each procedure's
``aliases`` (data/procedures/*.yml), so adding a colloquial name needs no
retraining. Matching is diacritic-insensitive and on word boundaries; the
entity keeps the span the user typed and carries the canonical id as value.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.rule_component import RuleComponent
from dichvucong.knowledge.base import KnowledgeBase
from dichvucong.text import find_phrases, fold

ENTITY = "procedure"
# "VNeID" and "mức 2" name a procedure (the electronic identity account) but
# also the app and account through which other procedures are submitted:
# "khai sinh trên VNeID", "tạm trú cần tài khoản mức 2". Next to another
# procedure they are the platform, unless the citizen says "định danh".
PLATFORM_PROCEDURE = "dinh_danh_dien_tu"


def alias_table(knowledge_base: KnowledgeBase) -> Dict[str, str]:
    table: Dict[str, str] = {}
    for procedure in knowledge_base:
        for name in [procedure.short_name, *procedure.aliases]:
            table[name] = procedure.id
    return table


def extract_procedures(text: str, aliases: Dict[str, str]) -> List[Dict[str, Any]]:
    found = [
        {
            "entity": ENTITY,
            "start": start,
            "end": end,
            "value": procedure_id,
            "text": matched,
            "confidence_entity": 1.0,
        }
        for start, end, procedure_id, matched in find_phrases(text, aliases)
    ]
    if any(e["value"] != PLATFORM_PROCEDURE for e in found):
        found = [
            e for e in found
            if e["value"] != PLATFORM_PROCEDURE or "dinh danh" in fold(e["text"])
        ]
    return found


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class ProcedureEntityExtractor(RuleComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"procedures_dir": "data/procedures"}

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self._aliases = alias_table(KnowledgeBase.load(Path(config["procedures_dir"])))

    def process_one(self, message: Message, text: str) -> None:
        found = self.add_extractor_name(extract_procedures(text, self._aliases))
        for entity in found:
            entity.pop("text", None)
        message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
