"""Administrative units before and after 1 July 2025, read from vietnamadminunits.

The library's parser and converter modules import geopy and, when given a
street, call the online ArcGIS geocoder, which would send a citizen's address
to a third party. We therefore never import them: we locate the package's data
files without executing its ``__init__`` and read the SQLite list of units and
the old→new conversion table directly. Everything is loaded once per process.
"""
from __future__ import annotations

import importlib.util
import json
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

OLD, NEW = "old", "new"
PROVINCE, DISTRICT, COMMUNE = "province", "district", "commune"


@dataclass
class Unit:
    """One unit; ``key`` is unique across eras ("old:tinhbinhphuoc/...")."""

    key: str
    era: str
    level: str
    name: str  # "Phường Thác Mơ"
    short: str  # "Thác Mơ"
    kind: str  # "Phường"
    code: str
    province: str  # key of the province of the same era
    district: Optional[str] = None  # key of the old district
    # Units of the other era this one overlaps (new province of an old unit,
    # old provinces and districts a new ward was formed from).
    related: set = field(default_factory=set)
    # For an old commune: keys of the new communes it went into, and whether
    # it was divided between several of them.
    successors: List[str] = field(default_factory=list)
    divided: bool = False
    # Names the unit had before an override (still recognised in messages).
    former_names: List[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """Canonical full name, also the value of the ``locality`` entity."""
        parts = [self.name]
        if self.district:
            parts.append(UNITS().by_key[self.district].name)
        if self.level != PROVINCE:
            parts.append(UNITS().by_key[self.province].name)
        return ", ".join(parts)


@dataclass
class UnitTable:
    by_key: Dict[str, Unit]
    # Old and new province key → units whose province it is (for listings).
    children: Dict[str, List[str]]


def data_dir() -> Path:
    """The package's data folder, found without importing the package."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("vietnamadminunits is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _rows(db: Path, sql: str) -> List[sqlite3.Row]:
    # Read-only URI: the bot must never modify the library's files.
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql).fetchall()


def _add(table: Dict[str, Unit], unit: Unit) -> None:
    table.setdefault(unit.key, unit)


def _load_old(db: Path, table: Dict[str, Unit]) -> None:
    for r in _rows(db, "SELECT * FROM admin_units_legacy"):
        pk = f"old:{r['provinceKey']}"
        dk = f"{pk}/{r['districtKey']}"
        kind = r["province"].split(" ")[0]
        kind = "Thành phố" if r["province"].startswith("Thành phố") else kind
        _add(table, Unit(pk, OLD, PROVINCE, r["province"], r["provinceShort"], kind,
                         r["provinceCode"], pk))
        _add(table, Unit(dk, OLD, DISTRICT, r["district"], r["districtShort"],
                         r["districtType"], r["districtCode"], pk))
        if r["ward"]:
            wk = f"{dk}/{r['wardKey']}"
            _add(table, Unit(wk, OLD, COMMUNE, r["ward"], r["wardShort"], r["wardType"],
                             r["wardCode"], pk, district=dk))


def _load_new(db: Path, table: Dict[str, Unit]) -> None:
    for r in _rows(db, "SELECT * FROM admin_units"):
        pk = f"new:{r['provinceKey']}"
        kind = "Thành phố" if r["province"].startswith("Thành phố") else "Tỉnh"
        _add(table, Unit(pk, NEW, PROVINCE, r["province"], r["provinceShort"], kind,
                         r["provinceCode"], pk))
        _add(table, Unit(f"{pk}/{r['wardKey']}", NEW, COMMUNE, r["ward"], r["wardShort"],
                         r["wardType"], r["wardCode"], pk))


def _old_key(composite: str) -> str:
    # The converter writes "province_district_ward" with "_" separators;
    # keys themselves contain no "_".
    province, district, ward = composite.split("_")
    return f"old:{province}/{district}" + (f"/{ward}" if ward else "")


def _link(table: Dict[str, Unit], old_key: str, new_key: str) -> None:
    old, new = table.get(old_key), table.get(new_key)
    if old is None or new is None:
        return
    if new_key not in old.successors:
        old.successors.append(new_key)
    new.related.update({old.key, old.province} | ({old.district} if old.district else set()))
    new_province = table[new.province]
    for unit in (old, table[old.province]) + ((table[old.district],) if old.district else ()):
        unit.related.add(new_province.key)
    new_province.related.add(old.province)


def _load_conversion(path: Path, table: Dict[str, Unit]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for new_province, olds in data["DICT_PROVINCE"].items():
        for old_province in olds:
            table[f"old:{old_province}"].related.add(f"new:{new_province}")
            table[f"new:{new_province}"].related.add(f"old:{old_province}")
    for new_province, wards in data["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, olds in wards.items():
            for composite in olds:
                _link(table, _old_key(composite), f"new:{new_province}/{new_ward}")
    for new_province, olds in data["DICT_PROVINCE_WARD_DIVIDED"].items():
        for composite, parts in olds.items():
            old_key = _old_key(composite)
            # The library's "default" part is put first but never chosen silently.
            for part in sorted(parts, key=lambda p: not p["isDefaultNewWard"]):
                _link(table, old_key, f"new:{new_province}/{part['newWardKey']}")
            if old_key in table and len(table[old_key].successors) > 1:
                table[old_key].divided = True


@lru_cache(maxsize=1)
def UNITS() -> UnitTable:  # noqa: N802 - a cached constant, read like one
    folder = data_dir()
    table: Dict[str, Unit] = {}
    _load_old(folder / "dataset.db", table)
    _load_new(folder / "dataset.db", table)
    _load_conversion(folder / "converter_2025.json", table)
    apply_overrides(table, overrides())
    children: Dict[str, List[str]] = {}
    for unit in table.values():
        if unit.level != PROVINCE:
            children.setdefault(unit.province, []).append(unit.key)
    return UnitTable(table, children)


def localities_dir() -> Path:
    # Next to the knowledge base, wherever settings place it.
    from dichvucong.settings import settings

    return settings().procedures_dir.parent / "localities"


def overrides() -> List[dict]:
    path = localities_dir() / "overrides.yml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("units", [])


def apply_overrides(table: Dict[str, Unit], rows: List[dict]) -> None:
    """Apply the verified rows of data/localities/overrides.yml: changes after
    the library's data (e.g. a province that became a centrally run city)."""
    for row in rows:
        unit = table.get(row["key"])
        if unit is None:
            raise ValueError(f"data/localities/overrides.yml: unknown unit {row['key']!r}")
        if not row.get("verified"):
            continue
        unit.former_names.append(unit.name)
        unit.kind = row.get("kind", unit.kind)
        unit.name = row.get("name", unit.name)


def ancestors(unit: Unit) -> Tuple[str, ...]:
    """Keys that, if the citizen also named them, confirm this unit."""
    own = {unit.province} | ({unit.district} if unit.district else set())
    return tuple((own | unit.related) - {unit.key})
