"""Silence while a staff member holds the conversation.

Rules cannot say "whatever the citizen writes": this policy can. While the
``handoff_state`` slot (set only by the handoff actions, from the queue in the
database) is ``active``, every citizen message gets ``action_handoff_silent``
(which only keeps the ticket alive) and then ``action_listen``; the
operator's external intents, "kết thúc" and "hủy" go to the rules as usual.
While it is ``callback``, the next message is the answer to "which number
should we call?", whatever NLU made of it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.constants import POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from dichvucong import contract

SILENT_ACTION = "action_handoff_silent"
CALLBACK_ACTION = "action_handoff_callback"
# What still reaches the rules while a person has the conversation.
PASSTHROUGH_INTENTS = frozenset({contract.INTENT_END_HANDOFF, "cancel"}) | \
    contract.HANDOFF_SYSTEM_INTENTS
ACTION_FOR_STATE = {"active": SILENT_ACTION, "callback": CALLBACK_ACTION}
OWN_ACTIONS = frozenset(ACTION_FOR_STATE.values())


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True
)
class HandoffPolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # Above RulePolicy (6): nothing else may answer while a person does.
        return {POLICY_PRIORITY: 7}

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        # Nothing to learn; the resource must exist for the model to load.
        with self._model_storage.write_to(self._resource):
            pass
        return self._resource

    def predict_action_probabilities(
        self, tracker: DialogueStateTracker, domain: Domain,
        rule_only_data: Optional[Dict[str, Any]] = None, **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if tracker.latest_action_name in OWN_ACTIONS:
            # Whatever the state became, these actions end the turn.
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(probabilities, is_no_user_prediction=True)
        action = ACTION_FOR_STATE.get(tracker.get_slot(contract.SLOT_HANDOFF_STATE))
        intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        if action == SILENT_ACTION and intent in PASSTHROUGH_INTENTS:
            return self._prediction(probabilities)
        if action == CALLBACK_ACTION and intent in contract.HANDOFF_SYSTEM_INTENTS:
            return self._prediction(probabilities)
        if tracker.latest_action_name != ACTION_LISTEN_NAME:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities, is_no_user_prediction=True)
