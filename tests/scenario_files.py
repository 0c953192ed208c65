"""Tiny scenario files for the config, pipeline and CLI tests: a line of towns in Jämtland."""

from __future__ import annotations

from pathlib import Path

# four places on one meridian, 0.1 degree of latitude (about 11.1 km) apart
DEMAND_CSV = """id,population,lon,lat,kommun_kod,name
a,100,15.0,63.0,2380,A
b,50,15.0,63.1,2380,B
c,30,15.0,63.2,2380,C
d,20,15.0,63.3,2380,D
"""
# an office at A today; candidates at C and D (C cheaper)
SITES_CSV = """site_id,name,status,cost,lon,lat
office-a,Office A,existing,,15.0,63.0
cand-c,Candidate C,candidate,1.0,15.0,63.2
cand-d,Candidate D,candidate,2.0,15.0,63.3
"""

#: sections of the base scenario: key -> TOML value text
BASE: dict[str, dict[str, str]] = {
    "": {"name": '"tiny"', "seed": "3"},
    "inputs": {
        "network": '"straight-line"',
        "population": '{ path = "cells.csv", id_column = "id" , crs = "EPSG:4326" }',
        "existing": '"sites.csv"',
    },
    # one speed at every distance and no detour: minutes = km
    "travel": {"max_minutes": "60", "circuity": "1.0", "speed_bands": "[[inf, 60.0]]"},
    "problems": {"name": '"one more"', "kind": '"p-median"', "n_sites": "2"},
    "outputs": {"map": "false", "language": '"en"'},
}


def write_inputs(folder: Path) -> None:
    """Write the demand and site tables the base scenario names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cells.csv").write_text(DEMAND_CSV)
    (folder / "sites.csv").write_text(SITES_CSV)


def scenario_text(
    changes: dict[tuple[str, str], str | None] | None = None,
    *,
    problems: list[dict[str, str]] | None = None,
) -> str:
    """The base scenario as TOML with `changes` ((section, key) -> value, None deletes)."""
    sections = {name: dict(keys) for name, keys in BASE.items()}
    for (section, key), value in (changes or {}).items():
        if value is None:
            sections[section].pop(key, None)
        else:
            sections[section][key] = value
    lines = [f"{key} = {value}" for key, value in sections.pop("").items()]
    tables = problems if problems is not None else [sections["problems"]]
    for name, keys in sections.items():
        if name == "problems":
            for table in tables:
                lines += ["", "[[problems]]", *(f"{k} = {v}" for k, v in table.items())]
            continue
        lines += ["", f"[{name}]", *(f"{key} = {value}" for key, value in keys.items())]
    return "\n".join(lines) + "\n"


def write_scenario(folder: Path, text: str | None = None, name: str = "tiny.toml") -> Path:
    """Write inputs and a scenario file (the base one unless `text` is given)."""
    write_inputs(folder)
    path = folder / name
    path.write_text(scenario_text() if text is None else text)
    return path
