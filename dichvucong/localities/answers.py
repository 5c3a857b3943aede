"""What the assistant says about a citizen's locality.

Two kinds of answer: where to go today for a procedure (``office_line``,
called by the procedure answers for the where/overview topics) and what
became of a unit in the reorganisation of 1 July 2025 (``change_answer``).
Both say plainly when a name the citizen used no longer exists, and neither
picks a new commune silently when the old one was divided: they ask.
The offices per procedure and the legal basis are data (data/localities/).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional

import yaml

from dichvucong.localities.resolve import Resolution, resolve
from dichvucong.localities.units import (
    COMMUNE,
    DISTRICT,
    NEW,
    OLD,
    PROVINCE,
    UNITS,
    Unit,
    localities_dir,
)

INFORM_INTENT = "inform_locality"
MAX_LISTED = 8


@lru_cache(maxsize=1)
def _data(name: str) -> dict:
    return yaml.safe_load((localities_dir() / name).read_text(encoding="utf-8")) or {}


def offices() -> dict:
    return _data("offices.yml")


def legal() -> dict:
    return _data("legal_basis.yml")


def in_text(unit: Unit) -> str:
    """The unit's name inside a sentence: "phường Phước Long"."""
    if unit.name.startswith(unit.kind):
        return unit.kind.lower() + unit.name[len(unit.kind):]
    return unit.name


def with_province(unit: Unit) -> str:
    if unit.level == PROVINCE:
        return in_text(unit)
    return f"{in_text(unit)}, {in_text(UNITS().by_key[unit.province])}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Today:
    """Where an old or new unit is today."""

    communes: List[Unit]  # today's communes; several when the old one was divided
    province: Optional[Unit]  # today's province, when there is exactly one
    notice: str  # "" or the sentence saying which names no longer exist


def _new_province(unit: Unit) -> Optional[Unit]:
    units = UNITS().by_key
    if unit.era == NEW:
        return units[unit.province]
    new = sorted(k for k in units[unit.province].related if k.startswith("new:"))
    return units[new[0]] if len(new) == 1 else None


def today(unit: Unit) -> Today:
    units = UNITS().by_key
    if unit.era == NEW:
        communes = [unit] if unit.level == COMMUNE else []
        return Today(communes, _new_province(unit), "")
    province = _new_province(unit)
    communes = [units[k] for k in unit.successors] if unit.level == COMMUNE else []
    return Today(communes, province, _notice(unit, communes, province))


def _notice(unit: Unit, communes: List[Unit], province: Optional[Unit]) -> str:
    units = UNITS().by_key
    parts = []
    district = units[unit.district] if unit.district else unit if unit.level == DISTRICT else None
    if district:
        parts.append(f"{_cap(in_text(district))} không còn cấp huyện từ 1/7/2025")
    old_province = units[unit.province]
    if province and old_province.short != province.short:
        parts.append(f"{in_text(old_province)} nay thuộc {in_text(province)}")
    if unit.level == COMMUNE and len(communes) == 1:
        parts.append(f"{in_text(unit)} nay thuộc {with_province(communes[0])}")
    if unit.level == COMMUNE and len(communes) > 1:
        names = " và ".join(in_text(c) for c in communes)
        parts.append(f"{in_text(unit)} cũ nay được chia cho {names} ({in_text(province or communes[0])})")
    return _cap("; ".join(parts) + ".") if parts else ""


def locality_payload(unit: Unit) -> str:
    return "/" + INFORM_INTENT + json.dumps({"locality": unit.label}, ensure_ascii=False)


def split_buttons(locality: Optional[str]) -> List[Dict[str, str]]:
    """Buttons to choose today's commune when the old one was divided."""
    unit = _unit(locality)
    if unit is None:
        return []
    communes = today(unit).communes
    if len(communes) < 2:
        return []
    return [{"title": _cap(in_text(c)), "payload": locality_payload(c)} for c in communes]


def _unit(locality: Optional[str]) -> Optional[Unit]:
    if not locality:
        return None
    found = resolve(locality)
    return found.unit if found else None


def _office(template_id: str, commune: Optional[Unit], province: Optional[Unit]) -> Optional[str]:
    template = offices()["offices"][template_id]
    if "{province}" in template and province is None:
        return None
    # Without a commune (only a province or an old district was named) the
    # line still names the kind of office, "Công an xã, phường nơi bạn ở".
    return template.format(
        commune=in_text(commune) if commune else "xã, phường nơi bạn ở",
        province=in_text(province) if province else "",
    )


def office_line(procedure_id: str, locality: Optional[str]) -> Optional[str]:
    """One Vietnamese line naming where to go today for this procedure in the
    citizen's locality (the slot ``locality``), or None when unknown."""
    unit = _unit(locality)
    entry = offices()["procedures"].get(procedure_id)
    if unit is None or entry is None:
        return None
    now = today(unit)
    if len(now.communes) > 1:
        places = " hoặc ".join(
            filter(None, (_office(entry["office"], c, now.province) for c in now.communes))
        )
        ask = "Bạn cho biết mình thuộc phường, xã mới nào để tôi chỉ đúng nơi"
        return f"{now.notice} {ask}: {places}." if places else f"{now.notice} {ask}."
    commune = now.communes[0] if now.communes else None
    places = [_office(entry[k], commune, now.province) for k in ("office", "also") if entry.get(k)]
    places = [p for p in places if p]
    here = with_province(commune) if commune else in_text(now.province) if now.province else ""
    line = f"Ở {here} hiện nay, bạn đến {'; hoặc '.join(places)}." if here else \
        _cap(f"bạn đến {'; hoặc '.join(places)}.")
    return f"{now.notice} {line}".strip()


def _legal_for(province: Optional[Unit]) -> str:
    basis = legal()
    key = province.key.split(":", 1)[1] if province else ""
    communes = basis.get("communes", {}).get(key, {}).get("text") or basis["communes_default"]
    return f"Căn cứ: {basis['provinces']['text']}, {basis['districts']['text']} và {communes}."


def change_answer(locality: Optional[str], resolution: Optional[Resolution] = None) -> Optional[str]:
    """A direct answer to "xã Phước Tín giờ thuộc phường nào", "Bình Phước
    sáp nhập vào đâu": today's unit, the date and the legal basis."""
    unit = resolution.unit if resolution else _unit(locality)
    if unit is None:
        return None
    now = today(unit)
    if unit.era == NEW:
        text = _formed_from(unit)
    elif unit.level == PROVINCE:
        text = _old_province(unit, now)
    elif unit.level == DISTRICT:
        text = _old_district(unit)
    elif len(now.communes) > 1:
        text = now.notice + " Bạn ở phần nào của " + in_text(unit) + " cũ? Hãy chọn phường, xã mới bên dưới."
    else:
        text = f"Từ 1/7/2025, {in_text(unit)} ({_old_path(unit)}) thuộc {with_province(now.communes[0])}."
        text += " " + now.notice.split("; ")[0].rstrip(".") + "." if unit.district else ""
    return f"{text} {_legal_for(now.province)}"


def _old_path(unit: Unit) -> str:
    units = UNITS().by_key
    return f"{in_text(units[unit.district])} cũ, {in_text(units[unit.province])}" if unit.district else ""


def _old_province(unit: Unit, now: Today) -> str:
    if now.province is None:
        return f"Từ 1/7/2025, địa bàn {in_text(unit)} cũ thuộc nhiều tỉnh, thành phố mới."
    if now.province.short == unit.short:
        merged = sorted(
            in_text(UNITS().by_key[k]) for k in now.province.related
            if k.startswith("old:") and k != unit.key
        )
        extra = f", hợp nhất thêm {' và '.join(merged)}" if merged else ", không hợp nhất với tỉnh khác"
        return (f"Từ 1/7/2025, {in_text(unit)} vẫn giữ tên ({in_text(now.province)}){extra}; "
                "từ ngày đó không còn cấp huyện.")
    return (f"Từ 1/7/2025, {in_text(unit)} không còn là đơn vị hành chính riêng: "
            f"toàn bộ địa bàn nay thuộc {in_text(now.province)}.")


def _old_district(unit: Unit) -> str:
    units = UNITS().by_key
    communes = sorted({k for c in UNITS().children.get(unit.province, [])
                       if units[c].district == unit.key for k in units[c].successors})
    names = [in_text(units[k]) for k in communes]
    listed = ", ".join(names[:MAX_LISTED]) + (" và một số đơn vị khác" if len(names) > MAX_LISTED else "")
    province = _new_province(unit)
    where = f" ({in_text(province)})" if province else ""
    return (f"{_cap(in_text(unit))} không còn từ 1/7/2025, vì chính quyền địa phương chỉ còn hai cấp "
            f"(tỉnh và xã). Các xã, phường cũ của {in_text(unit)} nay thuộc: {listed}{where}.")


def _formed_from(unit: Unit) -> str:
    units = UNITS().by_key
    if unit.level == PROVINCE:
        olds = sorted(in_text(units[k]) for k in unit.related if k.startswith("old:"))
        if len(olds) == 1:
            return (f"{_cap(in_text(unit))} không hợp nhất với tỉnh, thành phố khác; "
                    "từ 1/7/2025 không còn cấp huyện, chỉ còn cấp tỉnh và cấp xã.")
        return f"{_cap(in_text(unit))} hiện nay (từ 1/7/2025) gồm địa bàn của: {', '.join(olds)} (cũ)."
    olds = sorted(k for k in unit.related if units[k].level == COMMUNE and units[k].era == OLD)
    names = [f"{in_text(units[k])} ({in_text(units[units[k].district])})" for k in olds[:MAX_LISTED]]
    return (f"{_cap(with_province(unit))} là đơn vị cấp xã từ 1/7/2025, hình thành từ "
            f"{', '.join(names)}{' và một số đơn vị khác' if len(olds) > MAX_LISTED else ''}.")


def today_label(locality: Optional[str]) -> str:
    """Today's unit(s) for a locality, as held-out sets write them: the
    commune and province, " | " between the parts of a divided commune, the
    province when no commune is named, an old district's own name."""
    unit = _unit(locality)
    if unit is None:
        return ""
    if unit.level == DISTRICT:
        return unit.label
    now = today(unit)
    if now.communes:
        return " | ".join(c.label for c in now.communes)
    return now.province.label if now.province else unit.label
