"""The names the code relies on are the ones the domain declares, and core stays Rasa-free."""
import subprocess
import sys

import yaml

from dichvucong import contract
from dichvucong.knowledge.base import PROCEDURE_IDS
from dichvucong.settings import PROJECT_ROOT


def domain():
    merged = {"intents": set(), "slots": {}, "responses": set(), "forms": set()}
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        merged["intents"] |= {next(iter(i)) if isinstance(i, dict) else i
                              for i in data.get("intents") or []}
        merged["slots"].update(data.get("slots") or {})
        merged["responses"] |= set(data.get("responses") or {})
        merged["forms"] |= set(data.get("forms") or {})
    return merged


def test_procedure_slot_values_are_the_knowledge_base_ids():
    assert domain()["slots"]["procedure"]["values"] == list(PROCEDURE_IDS)


def test_the_domain_declares_every_name_the_code_relies_on():
    d = domain()
    for slot in (contract.SLOT_DOSSIER_CODE, contract.SLOT_SECOND_FACTOR,
                 contract.SLOT_LOOKUP_LOCKED, contract.SLOT_VERIFIED_DOSSIER):
        assert slot in d["slots"], slot
        # Only actions may set them: no mapping fills them from entities or intents.
        assert all(m.get("type") == "custom" for m in d["slots"][slot]["mappings"]), slot
    for intent in (contract.INTENT_DOSSIER_UPDATE, contract.INTENT_DOSSIER_REMINDER,
                   contract.INTENT_HANDOFF, contract.INTENT_RATING):
        assert intent in d["intents"], intent
    assert contract.UTTER_ASK_SECOND_FACTOR in d["responses"]


def test_core_imports_neither_rasa_nor_the_adapters():
    # A fresh interpreter in which importing rasa, rasa_sdk, actions or bot fails.
    code = """
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"rasa", "rasa_sdk", "actions", "bot", "sanic", "tensorflow"}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import dichvucong
for module in pkgutil.walk_packages(dichvucong.__path__, "dichvucong."):
    importlib.import_module(module.name)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr


def test_the_adapters_do_not_import_each_other():
    # actions/ (the action server) and bot/ (Rasa server plugins, console, CLIs)
    # meet only in the core: no cycle, and either can be deployed alone.
    import re

    pattern = {"actions": re.compile(r"^\s*(from|import) bot\b", re.M),
               "bot": re.compile(r"^\s*(from|import) actions\b", re.M)}
    for package, forbidden in pattern.items():
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            assert not forbidden.search(path.read_text(encoding="utf-8")), path
