"""Decide what a message about a life event or an uncovered procedure should do.

Rasa-free so it is tested without a model; bot/nlu/life_event_extractor.py
applies the decision to the parsed message. The intent classifier learns how
citizens ask ("cần làm gì", "lệ phí bao nhiêu"), the life-event data knows
what situation they are in; the decision combines the two:

- a situation with a general question ("vợ tôi vừa sinh em bé, cần làm giấy
  tờ gì") becomes the ``life_event`` intent, answered with the journey;
- a situation with a precise question ("mua xe máy thì lệ phí bao nhiêu")
  keeps its intent and gets the event's procedure, so the normal answer follows;
- a procedure the citizen names explicitly ("con mới sinh làm khai sinh cần
  gì") always wins over the situation around it;
- a neighbouring procedure we do not cover ("khai báo tạm trú cho người nước
  ngoài") removes the procedure it contains and becomes ``ask_uncovered``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from dichvucong.life_events import LifeEvent, LifeEvents, Match
from dichvucong.text import canonical

LIFE_EVENT_INTENT = "life_event"
UNCOVERED_INTENT = "ask_uncovered"
ASK = "ask"
# Questions that mean "what should I do?": the journey answers them.
GENERAL_INTENTS = frozenset({
    "ask_procedure", "inform", "out_of_scope", "bot_challenge", "list_services",
    "greet", "affirm", LIFE_EVENT_INTENT, UNCOVERED_INTENT,
})
# General questions that do not name a procedure's question.
SITUATION_INTENTS = GENERAL_INTENTS - {"ask_procedure", "inform"}
# Questions about one topic of a procedure.
TOPIC_INTENTS = frozenset({
    "ask_fee", "ask_processing_time", "ask_where", "ask_online_steps",
})
ASK_INTENTS = TOPIC_INTENTS | {"ask_procedure", "ask_documents"}
# Below this the classifier is unsure (the FallbackClassifier's threshold in
# config.yml): the situation or the procedure named then decides.
UNSURE = 0.55
# "Out of scope" and "are you a bot" are overridden only when not confident:
# "vay mua nhà lãi suất bao nhiêu" mentions buying a house but is not ours.
CONFIDENT_OTHER = 0.8
OTHER_INTENTS = frozenset({"out_of_scope", "bot_challenge"})
# A terse FAQ-style question ("Thông báo lưu trú khi có khách đến nhà?").
TERSE_WORDS = 10
# Requests that are about something else whatever situation is mentioned.
PROTECTED_INTENTS = frozenset({
    "check_dossier_status", "request_human", "erase_my_data", "subscribe_dossier",
    "unsubscribe_dossier", "rate_answer", "thank", "goodbye",
})

Span = Tuple[int, int, str]
LOOKUP_INTENT = "check_dossier_status"
# "kiem tra ho so ABC-123": a lookup with something meant as a code, which the
# classifier cannot tell from chat about an unknown word. The lookup form then
# answers the malformed code with the format help (actions/dossier_lookup.py).
_LOOKUP_WORDS = re.compile(r"\b(tra cuu|kiem tra|xem|tinh trang|tra) (giup |lai )?(ho so|hs)\b")
_CODE_LIKE = re.compile(r"(?<![\w.-])(?=[\w.-]*\d)[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)+(?![\w-])")


def looks_like_lookup(text: str) -> bool:
    return bool(_LOOKUP_WORDS.search(canonical(text)) and _CODE_LIKE.search(text))


ONLINE_INTENT = "ask_online_steps"
# "đăng ký tạm trú qua mạng thì làm thế nào": how to do it *online* is the
# online-steps question. Not one ask_procedure example in data/nlu, the dev or
# the held-out sets names the online channel, yet DIET reads "làm thế nào"
# first: in cross-validation 3 such messages (and 1 dev message) went to
# ask_procedure and none the other way. A bare "VNeID" is the procedure
# (định danh điện tử), not the channel, so only "qua/trên VNeID" counts.
_ONLINE = re.compile(
    r"\b(online|truc tuyen|(qua|tren) (mang|ung dung|app|vneid|cong)|ung dung vneid|dich vu cong)\b"
)


def asks_online(intent: str, text: str) -> bool:
    """An ask_procedure question about doing it online: the online steps answer it."""
    return intent == "ask_procedure" and bool(_ONLINE.search(canonical(text)))


@dataclass
class Decision:
    intent: Optional[str] = None
    drop_procedures: List[int] = field(default_factory=list)
    add_procedure: Optional[Span] = None
    life_event: Optional[Span] = None
    uncovered: Optional[Span] = None
    # The classifier said life_event but the citizen named a procedure: that wins.
    demote: bool = False


def _inside(span: Span, spans: Sequence[Span]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e, _ in spans)


def _overlaps(span: Span, spans: Sequence[Span]) -> bool:
    return any(span[0] < e and s < span[1] for s, e, _ in spans)


def decide(
    intent: str,
    procedures: Sequence[Span],
    text: str,
    life_events: LifeEvents,
    confidence: float = 1.0,
) -> Decision:
    """What to change in the parse of ``text`` (procedure entities as spans)."""
    decision = Decision()
    if intent in PROTECTED_INTENTS:
        # Unsure of a request in a terse question that names one procedure:
        # "Thông báo lưu trú khi có khách đến nhà?" is not a subscription
        # ("thông báo" is also its word), it asks about the procedure.
        if confidence < UNSURE and _terse(text) and len({p[2] for p in procedures}) == 1:
            decision.intent = "ask_procedure"
        return decision
    if not procedures and looks_like_lookup(text):
        decision.intent = LOOKUP_INTENT
        return decision
    if intent in OTHER_INTENTS and confidence >= CONFIDENT_OTHER:
        return decision
    uncovered = life_events.match_uncovered(text)
    if uncovered:
        decision.drop_procedures = [i for i, p in enumerate(procedures) if _overlaps(p, uncovered)]
        if len(decision.drop_procedures) == len(procedures):
            decision.uncovered = uncovered[0]
            decision.intent = UNCOVERED_INTENT
            return decision
    kept = [p for i, p in enumerate(procedures) if i not in decision.drop_procedures]
    unsure = confidence < UNSURE
    _route_life_event(decision, intent, kept, life_events.match(text), life_events, unsure)
    if decision.intent or decision.add_procedure or len({p[2] for p in kept}) != 1:
        return decision
    # One procedure named and the classifier either unsure of a terse question
    # ("Độ tuổi đổi thẻ Căn cước?") or expecting a situation the data does not
    # confirm: answer about that procedure rather than ask.
    if intent == LIFE_EVENT_INTENT or (unsure and _terse(text)):
        decision.intent = intent if intent in ASK_INTENTS | {"inform"} else "ask_procedure"
        decision.demote = False
    return decision


def _terse(text: str) -> bool:
    return len(text.split()) <= TERSE_WORDS


def _route_life_event(
    decision: Decision,
    intent: str,
    procedures: Sequence[Span],
    match: Match,
    life_events: LifeEvents,
    unsure: bool,
) -> None:
    if match.ask and not procedures:
        decision.life_event = (0, 0, ASK)
        decision.intent = LIFE_EVENT_INTENT
        return
    if not match.best:
        return
    first = next(s for s in match.spans if s[2] == match.best)
    _route_event(decision, intent, procedures, match, life_events.get(match.best), unsure)
    # The entity only when the event is acted on: a named procedure's answer
    # stays exactly what it was without the life-event data.
    if decision.intent == LIFE_EVENT_INTENT or decision.add_procedure:
        decision.life_event = first
    if decision.add_procedure:
        decision.add_procedure = (first[0], first[1], decision.add_procedure[2])


def _route_event(
    decision: Decision,
    intent: str,
    procedures: Sequence[Span],
    match: Match,
    event: LifeEvent,
    unsure: bool,
) -> None:
    explicit = [p for p in procedures if not _inside(p, match.spans)]
    if explicit:
        # The citizen named a procedure: it wins, unless the classifier reads
        # a situation (or is unsure and reads no question about a procedure)
        # and the procedure is one the situation leads to anyway.
        situation = intent == LIFE_EVENT_INTENT or (unsure and intent in SITUATION_INTENTS)
        if situation and {p[2] for p in explicit} <= set(event.procedures):
            decision.intent = LIFE_EVENT_INTENT
        else:
            decision.demote = intent == LIFE_EVENT_INTENT
        return
    if intent in GENERAL_INTENTS or intent == "ask_documents":
        decision.intent = LIFE_EVENT_INTENT
    elif intent in TOPIC_INTENTS and len(event.procedures) == 1 and not unsure:
        if not procedures:
            decision.add_procedure = (0, 0, event.procedures[0])
    elif intent in TOPIC_INTENTS:
        decision.intent = LIFE_EVENT_INTENT
