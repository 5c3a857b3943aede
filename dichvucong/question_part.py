"""Where the question is in a message that tells its story first.

Citizens often write two or three sentences of context ("Ông nội tôi mất hôm
qua ở nhà, năm nay cụ 89 tuổi. Gia đình đang lo tang lễ…") before the
question ("Làm khai tử cho cụ thì thủ tục ra sao?"). A bag of words over the
whole paragraph weighs the story as much as the question, so a funeral or a
holiday pulls the message towards out_of_scope. The question part is what the
intent classifier should weigh most: the last sentence that asks (ends in
"?"), else the last sentence. A short message is its own question part.
"""
from __future__ import annotations

import re
from typing import List, Tuple

# A sentence ends at ., !, ?, ;, … followed by a space, or at a line break; a dot
# inside "000.00.15.H10" or "2.5" ends nothing.
_BOUNDARY = re.compile(r"(?<=[.!?;…])\s+|\n+")
_WORD = re.compile(r"\w+")
# Fragments shorter than this ("TP.", "p.", "Cảm ơn.") belong to a neighbour.
MIN_WORDS = 3


def sentences(text: str) -> List[Tuple[int, int]]:
    """(start, end) of each sentence, short fragments merged into a neighbour."""
    spans: List[Tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    merged: List[Tuple[int, int]] = []
    pending = None  # where a short fragment began, waiting for the next sentence ("TP. HCM …")
    for s, e in spans:
        if pending is not None:
            s, pending = pending, None
        if len(_WORD.findall(text[s:e])) < MIN_WORDS:
            pending = s
            continue
        merged.append((s, e))
    if pending is not None:
        # A short last fragment ("Cảm ơn.") joins the sentence before it.
        merged[-1:] = [(merged[-1][0] if merged else pending, spans[-1][1])]
    return merged


def question_span(text: str) -> Tuple[int, int]:
    """(start, end) of the question part: the last asking sentence, else the last one."""
    spans = sentences(text)
    if not spans:
        return 0, len(text)
    asking = [(s, e) for s, e in spans if "?" in text[s:e]]
    return (asking or spans)[-1]
