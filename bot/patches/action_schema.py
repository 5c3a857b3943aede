"""The action server's answer is checked against a schema compiled once.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls
``jsonschema.validate``, which looks up the validator class, checks the
(large, constant) events schema against the meta-schema and builds a
validator on every custom-action call: about a quarter of the server's CPU
under load. Here the schema is checked and compiled once; each answer is then
validated exactly as before (same errors, same message).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

from jsonschema import ValidationError, exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

ORIGINAL = RemoteAction._validate_action_result


@lru_cache(maxsize=1)
def _validator():
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    error = exceptions.best_match(_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
