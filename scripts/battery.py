"""A battery of bad inputs and faults against the `siting` command, as a hostile or unlucky
user would meet them.

Every case runs the real CLI in a fresh process, in its own folder, over an output folder that
holds an earlier good result. A case passes when the command exits with an allowed code (0 for
an input it may accept, 2 for a refusal, 130/143 for an interrupt), a refusal prints exactly
one line and no traceback, the earlier result is byte for byte what it was, and no hidden
temporary (``.*.tmp``, ``.*.old``) is left beside it. Prints a table (case, exit code, first
line of stderr, outputs untouched) and then a JSON summary; exits 1 when a case fails.

Usage: ``python scripts/battery.py [--workers 2] [--only SUBSTRING] [--json-only]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

#: the console script installed beside this interpreter, as a user runs it
SITING = [str(Path(sys.executable).parent / "siting")]
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 180
OK, BAD_INPUT, SIGINT_EXIT, SIGTERM_EXIT = 0, 2, 130, 143
_LOG_LEVELS = ("DEBUG ", "INFO ", "WARNING ")

# six villages around Falun and four sites; minutes = km at 60 km/h, no detour
DEMAND = """id,population,lon,lat,name
d1,120,15.63,60.61,Falun
d2,80,15.70,60.65,Bjursås
d3,40,15.50,60.55,Grycksbo
d4,30,15.80,60.58,Svärdsjö
d5,25,15.60,60.70,Sundborn
d6,10,15.45,60.66,Sågmyra
"""
SITES = """site_id,name,status,cost,lon,lat
falun,Falun,existing,,15.63,60.61
bjursas,Bjursås,candidate,1.0,15.70,60.65
svardsjo,Svärdsjö,candidate,2.0,15.80,60.58
grycksbo,Grycksbo,candidate,1.5,15.50,60.55
"""
SECTIONS = {
    "": {"name": '"battery"', "seed": "1"},
    "inputs": {
        "network": '"straight-line"',
        "population": '{ path = "cells.csv", id_column = "id", crs = "EPSG:4326" }',
        "existing": '"sites.csv"',
    },
    "travel": {"max_minutes": "60", "circuity": "1.0", "speed_bands": "[[inf, 60.0]]"},
    "problems": {"name": '"two"', "kind": '"p-median"', "n_sites": "2"},
    "outputs": {"map": "true", "language": '"en"'},
}


def scenario(changes: dict[tuple[str, str], str | None] | None = None,
             problems: list[dict[str, str]] | None = None) -> str:  # fmt: skip
    """The base scenario as TOML, with (section, key) -> value changes (None deletes)."""
    sections = {name: dict(keys) for name, keys in SECTIONS.items()}
    for (section, key), value in (changes or {}).items():
        sections.setdefault(section, {})
        if value is None:
            sections[section].pop(key, None)
        else:
            sections[section][key] = value
    lines = [f"{k} = {v}" for k, v in sections.pop("").items()]
    for name, keys in sections.items():
        if name == "problems":
            for table in problems if problems is not None else [keys]:
                lines += ["", "[[problems]]", *(f"{k} = {v}" for k, v in table.items())]
        else:
            lines += ["", f"[{name}]", *(f"{k} = {v}" for k, v in keys.items())]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    """One bad input or fault: files to write over the base inputs and the command to run."""

    name: str
    group: str
    argv: tuple[str, ...] = ("run", "scenario.toml", "--out", "out")
    files: dict[str, str | bytes] = field(default_factory=dict)
    allowed: frozenset[int] = frozenset({OK, BAD_INPUT})
    prepare: Callable[[Path], None] | None = None
    fault: str | None = None  # "SIGINT", "SIGTERM", "SIGKILL", "concurrent"


@dataclass
class Outcome:
    case: Case
    exit_code: int
    first_line: str
    lines: int
    untouched: bool
    leftovers: list[str]
    traceback: bool
    seconds: float

    @property
    def passed(self) -> bool:
        if self.exit_code not in self.case.allowed or self.traceback or self.leftovers:
            return False
        if self.exit_code == OK:
            return True
        return self.lines == 1 and self.untouched


# --- cases ---------------------------------------------------------------------------------


def _rows(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def scenario_cases() -> Iterator[Case]:
    """Bad values of every kind of scenario key, and broken TOML."""
    bad_values = {
        ("", "name"): ["123", '""', "true"],
        ("", "seed"): ['"x"', "-1", "1.5"],
        ("", "colour"): ['"red"'],
        ("inputs", "network"): ['"straightline"', '"nope.osm.pbf"', "5", '"pyrosm:Atlantis"'],
        ("inputs", "population"): [
            "5", "{}", '{ path = "cells.csv", crs = "EPSG:99999" }',
            '{ path = "cells.csv", id_column = "nope", crs = "EPSG:4326" }',
            '{ path = "cells.csv", population_column = "nope", crs = "EPSG:4326" }',
            '{ path = "cells.csv", cell_size_m = -1, crs = "EPSG:4326" }',
            '{ path = "cells.csv", crs = "EPSG:3006" }',
            '{ path = "cells.csv", encoding = "klingon", crs = "EPSG:4326" }',
            '{ path = "cells.csv", colour = 1 }',
        ],
        ("inputs", "existing"): ['"nope.csv"', "3", '"cells.txt.gz"'],
        ("inputs", "region"): ['"Atlantis"', "7"],
        ("travel", "max_minutes"): ["-5", "0", '"x"', "inf", "nan"],
        ("travel", "circuity"): ["0.5", "-1", '"x"'],
        ("travel", "speed_bands"): ["[]", "[[inf, -60.0]]", '[["a", 1]]', "[[10, 0]]", "5"],
        ("travel", "speed"): ["60"],
        ("problems", "kind"): ['"p-medain"', "1", '""'],
        ("problems", "n_sites"): ["0", "-1", "1.5", '"two"', "99"],
        ("problems", "n_new"): ["99"],
        ("problems", "mip_gap"): ["5", "-0.1"],
        ("problems", "time_limit_s"): ["-1", "0"],
        ("problems", "required"): ['["nope"]', '"falun"'],
        ("problems", "forbidden"): ['["falun"]'],
        ("problems", "weights"): ['"nope"', '"name"'],
        ("problems", "priority"): ['{ column = "nope", values = ["x"], factor = 2 }',
                                   '{ column = "name", values = ["Falun"], factor = -2 }'],
        ("problems", "budget"): ["3"],
        ("problems", "costs"): ['"price"'],
        ("outputs", "map"): ['"yes"'],
        ("outputs", "language"): ['"fr"'],
        ("outputs", "title"): ["5"],
    }  # fmt: skip
    for (section, key), values in bad_values.items():
        for value in values:
            text = scenario({(section, key): value})
            yield Case(f"[{section or 'top'}] {key} = {value}", "scenario",
                       files={"scenario.toml": text})  # fmt: skip
    for key in ("name", "kind"):
        yield Case(f"problem without {key}", "scenario",
                   files={"scenario.toml": scenario({("problems", key): None})})  # fmt: skip
    for key in ("population", "existing"):
        yield Case(f"[inputs] without {key}", "scenario",
                   files={"scenario.toml": scenario({("inputs", key): None})})  # fmt: skip
    problem_sets = {
        "two problems of one name": [SECTIONS["problems"], SECTIONS["problems"]],
        "no problems": [],
        "tradeoff beyond the candidates": [
            {"name": '"t"', "kind": '"tradeoff"', "max_n_sites": "9", "max_minutes": "30"}],
        "closures of more than there are": [
            {"name": '"c"', "kind": '"closures"', "n_close": "5"}],
        "closure of a candidate": [
            {"name": '"c"', "kind": '"closure-impact"', "close": '["bjursas"]'}],
        "lscp no site can meet": [
            {"name": '"l"', "kind": '"lscp"', "max_minutes": "0.1"}],
    }  # fmt: skip
    for name, problems in problem_sets.items():
        yield Case(name, "scenario", files={"scenario.toml": scenario(problems=problems)})
    text = scenario()
    broken: dict[str, str | bytes] = {
        "half a scenario file": text[: len(text) // 2],
        "empty scenario file": "",
        "binary scenario file": bytes(range(256)),
        "Latin-1 scenario file": text.replace('"battery"', '"Borlänge"').encode("latin-1"),
        "NUL byte in the scenario": text.replace('"battery"', '"bat\\u0000tery"'),
        "scenario as a JSON file": json.dumps({"name": "x"}),
        "key given twice": text + 'name = "again"\n',
    }
    for name, content in broken.items():
        yield Case(name, "scenario", files={"scenario.toml": content})


def _swap_columns(row: str, first: int, second: int) -> str:
    fields = row.split(",")
    fields[first], fields[second] = fields[second], fields[first]
    return ",".join(fields)


def population_cases() -> Iterator[Case]:
    """Bad numbers, text, encodings, coordinates and shapes of the population CSV."""
    values = ["abc", "", "-1", "1e308", "1e30", "inf", "nan", "1e309", "0x10", "1,5", "NULL"]
    for value in values:
        demand = _rows(DEMAND, "d2,80,", f"d2,{value},")
        yield Case(f"population value {value!r}", "population", files={"cells.csv": demand})
    swap = "".join(_swap_columns(row, 2, 3) + "\n" for row in DEMAND.splitlines())
    variants: dict[str, str | bytes] = {
        "population total over the world's": _rows(
            _rows(DEMAND, "d1,120,", "d1,6e9,"), "d2,80,", "d2,6e9,"),
        "no population column": _rows(DEMAND, "id,population,", "id,folk,"),
        "two population columns": _rows(DEMAND, "id,population,", "id,pop,").replace(
            "name\n", "population\n", 1),
        "header only": DEMAND.splitlines()[0] + "\n",
        "empty file": "",
        "a byte-order mark only": "\ufeff",
        "Latin-1 population file": DEMAND.encode("latin-1"),
        "binary garbage": bytes(range(256)) * 4,
        "cut mid-row": DEMAND[: DEMAND.index("d4") + 5],
        "a row with an extra field": _rows(DEMAND, "d3,40,15.50,60.55,Grycksbo",
                                           "d3,40,15.50,60.55,Grycksbo,extra,more"),
        "lat and lon swapped": swap,
        "latitude 95": _rows(DEMAND, "15.63,60.61", "15.63,95.0"),
        "longitude 200": _rows(DEMAND, "15.63,60.61", "200.0,60.61"),
        "metres in lon/lat columns": _rows(DEMAND, "15.63,60.61", "560000,6720000"),
        "missing latitude": _rows(DEMAND, "15.63,60.61", "15.63,"),
        "repeated id": _rows(DEMAND, "d2,80", "d1,80"),
        "empty id": _rows(DEMAND, "d2,80", ",80"),
        "all points in New York": "\n".join(
            [DEMAND.splitlines()[0], "d1,10,-74.0,40.7,A", "d2,5,-74.1,40.8,B"]) + "\n",
    }  # fmt: skip
    for name, content in variants.items():
        yield Case(name, "population", files={"cells.csv": content})
    accepted: dict[str, str | bytes] = {
        "semicolon separated": DEMAND.replace(",", ";"),
        "tab separated": DEMAND.replace(",", "\t"),
        "UTF-8 with a byte-order mark": "\ufeff" + DEMAND,
        "CRLF line ends": DEMAND.replace("\n", "\r\n"),
        "ids differing only in case": _rows(DEMAND, "d2,80", "D1,80"),
        "one point in New York": _rows(DEMAND, "15.45,60.66", "-74.0,40.7"),
        "a quoted comma in a name": _rows(DEMAND, "Falun\n", '"Falun, city"\n'),
        "zero people everywhere": "\n".join(
            [DEMAND.splitlines()[0], "d1,0,15.63,60.61,A", "d2,0,15.7,60.65,B"]) + "\n",
    }  # fmt: skip
    for name, content in accepted.items():
        yield Case(name, "population (may accept)", files={"cells.csv": content})


def site_cases() -> Iterator[Case]:
    """Bad ids, names, statuses, costs and coordinates of the site CSV."""
    variants: dict[str, str | bytes] = {
        "no site_id column": _rows(SITES, "site_id,", "id,"),
        "no name column": _rows(SITES, ",name,", ",namn,"),
        "no status column": _rows(SITES, ",status,", ",state,"),
        "status 'open'": _rows(SITES, "falun,Falun,existing", "falun,Falun,open"),
        "status empty": _rows(SITES, "falun,Falun,existing", "falun,Falun,"),
        "empty site id": _rows(SITES, "bjursas,", ","),
        "repeated site id": _rows(SITES, "svardsjo,", "bjursas,"),
        "negative cost": _rows(SITES, "candidate,2.0", "candidate,-3"),
        "text cost": _rows(SITES, "candidate,2.0", "candidate,cheap"),
        "infinite cost": _rows(SITES, "candidate,2.0", "candidate,inf"),
        "missing longitude": _rows(SITES, "1.0,15.70,60.65", "1.0,,60.65"),
        "only a header": SITES.splitlines()[0] + "\n",
        "Latin-1 site file": SITES.encode("latin-1"),
        "site lat/lon swapped": "\n".join(
            [SITES.splitlines()[0], "falun,Falun,existing,,60.61,15.63",
             "b,B,candidate,1,60.65,15.70"]) + "\n",
        "no office open today": SITES.replace("existing", "candidate"),
    }  # fmt: skip
    for name, content in variants.items():
        yield Case(name, "sites", files={"sites.csv": content})
    accepted = {
        "blank site name": _rows(SITES, "bjursas,Bjursås,", "bjursas,,"),
        "site ids differing only in case": _rows(SITES, "svardsjo,", "BJURSAS,"),
        "extra columns": SITES.replace("lat\n", "lat,note\n", 1),
    }
    for name, content in accepted.items():
        yield Case(name, "sites (may accept)", files={"sites.csv": content})


def geometry_cases() -> Iterator[Case]:
    """GeoJSON population layers: mixed, invalid, empty, broken."""
    point = {"type": "Point", "coordinates": [15.63, 60.61]}
    square = {"type": "Polygon", "coordinates": [[[15.6, 60.6], [15.7, 60.6], [15.7, 60.7],
                                                  [15.6, 60.7], [15.6, 60.6]]]}  # fmt: skip
    bow_tie = {"type": "Polygon", "coordinates": [[[15.6, 60.6], [15.7, 60.7], [15.7, 60.6],
                                                   [15.6, 60.7], [15.6, 60.6]]]}  # fmt: skip

    def layer(*geometries: object) -> str:
        features = [
            {"type": "Feature", "properties": {"id": f"g{i}", "population": 10 + i},
             "geometry": g} for i, g in enumerate(geometries)
        ]  # fmt: skip
        return json.dumps({"type": "FeatureCollection", "features": features})

    population = '{ path = "cells.geojson", id_column = "id" }'
    text = scenario({("inputs", "population"): population})
    variants: dict[str, str | bytes] = {
        "points and areas in one layer": layer(point, square),
        "an invalid polygon": layer(bow_tie, square),
        "a null geometry": layer(point, None),
        "no features": layer(),
        "cut-off GeoJSON": layer(point, square)[:60],
        "not JSON at all": "hello",
        "a line among points": layer(point, {"type": "LineString",
                                             "coordinates": [[15.6, 60.6], [15.7, 60.7]]}),
    }  # fmt: skip
    for name, content in variants.items():
        yield Case(name, "geometry", files={"cells.geojson": content, "scenario.toml": text})


def _symlink_loop(folder: Path) -> None:
    (folder / "loop.csv").symlink_to(folder / "loop2.csv")
    (folder / "loop2.csv").symlink_to(folder / "loop.csv")


def _folder_named_csv(folder: Path) -> None:
    (folder / "folder.csv").mkdir()


def path_cases() -> Iterator[Case]:
    """Data files that are loops, folders, devices, too long or missing."""
    long_name = "x" * 300 + ".csv"
    long_path = "/".join(["y" * 200] * 25) + ".csv"
    population = '{ path = "%s", id_column = "id", crs = "EPSG:4326" }'
    paths = {
        "symlink loop": ("loop.csv", _symlink_loop),
        "name over 255 bytes": (long_name, None),
        "path over 4096 bytes": (long_path, None),
        "a folder": ("folder.csv", _folder_named_csv),
        "/dev/null": ("/dev/null", None),
        "missing": ("none.csv", None),
        "under a file": ("cells.csv/x.csv", None),
    }
    for name, (path, prepare) in paths.items():
        text = scenario({("inputs", "population"): population % path})
        yield Case(f"population path: {name}", "paths", files={"scenario.toml": text},
                   prepare=prepare)  # fmt: skip
        text = scenario({("inputs", "existing"): f'"{path}"'})
        yield Case(f"site path: {name}", "paths", files={"scenario.toml": text}, prepare=prepare)
    scenario_paths = {"loop.csv": _symlink_loop, "folder.csv": _folder_named_csv, "/dev/null": None,
                      "none.toml": None, long_name: None, long_path: None}  # fmt: skip
    for path, prepare in scenario_paths.items():
        yield Case(f"scenario file: {path[:30]}", "paths",
                   argv=("run", path, "--out", "out"), prepare=prepare)  # fmt: skip


def _read_only_parent(folder: Path) -> None:
    (folder / "locked").mkdir()
    (folder / "locked").chmod(0o555)


def output_cases() -> Iterator[Case]:
    """Output folders that cannot be written, or hold something else."""

    def file_named(name: str) -> Callable[[Path], None]:
        return lambda folder: (folder / name).write_text("not a folder")

    def other_folder(folder: Path) -> None:
        (folder / "mine").mkdir()
        (folder / "mine" / "thesis.docx").write_text("precious")

    outs = {
        "--out under a missing parent": ("missing/deeper/out", None),
        "--out under a file": ("afile/out", file_named("afile")),
        "--out is a file": ("afile", file_named("afile")),
        "--out in /proc": ("/proc/siting-out", None),
        "--out in a read-only folder": ("locked/out", _read_only_parent),
        "--out name over 255 bytes": ("o" * 300, None),
        "--out path over 4096 bytes": ("/".join(["o" * 200] * 25), None),
        "--out is a folder of other files": ("mine", other_folder),
        "--out is the inputs' folder": (".", None),
    }
    for name, (out, prepare) in outs.items():
        yield Case(name, "output", argv=("run", "scenario.toml", "--out", out), prepare=prepare)
    yield Case("--cache-dir is a file", "output", prepare=file_named("cache"),
               argv=("run", "scenario.toml", "--out", "out", "--cache-dir", "cache"))  # fmt: skip


def cli_cases() -> Iterator[Case]:
    """Wrong commands and options."""
    argvs = {
        "unknown command": ("sail",),
        "unknown option": ("run", "scenario.toml", "--colour", "red"),
        "run without a scenario": ("run",),
        "od without --network": ("od", "cells.csv", "sites.csv", "--out", "od.npz"),
        "od with a bad number": ("od", "cells.csv", "sites.csv", "--network", "straight-line",
                                 "--out", "od.npz", "--max-minutes", "ten"),
        "od of a missing file": ("od", "none.csv", "sites.csv", "--network", "straight-line",
                                 "--out", "od.npz"),
        "network of a missing file": ("network", "none.osm.pbf"),
        "publish of a Latin-1 file": ("publish", "latin.csv", "sites.csv", "--out", "site"),
    }  # fmt: skip
    for name, argv in argvs.items():
        files: dict[str, str | bytes] = {"latin.csv": DEMAND.encode("latin-1")}
        yield Case(name, "cli", argv=argv, files=files)


def compare_cases() -> Iterator[Case]:
    """Run folders given to `siting compare` that are not what they should be."""

    def damage(path: str, how: Callable[[bytes], bytes]) -> Callable[[Path], None]:
        def prepare(folder: Path) -> None:
            file = folder / path
            file.write_bytes(how(file.read_bytes()))

        return prepare

    def remove(path: str) -> Callable[[Path], None]:
        return lambda folder: (folder / path).unlink()

    argv = ("compare", "runs/a", "runs/b", "--out", "out")
    damaged = {
        "truncated assignments.csv": damage("runs/b/assignments.csv", lambda b: b[: len(b) // 2]),
        "summary.json not JSON": damage("runs/b/summary.json", lambda b: b[:40]),
        "summary.json missing": remove("runs/b/summary.json"),
        "assignments.csv missing": remove("runs/b/assignments.csv"),
        "sites.geojson cut": damage("runs/b/sites.geojson", lambda b: b[:50]),
    }
    for name, prepare in damaged.items():
        yield Case(f"compare: {name}", "compare", argv=argv, prepare=prepare)
    yield Case("compare: a folder that is no run", "compare",
               argv=("compare", "runs/a", ".", "--out", "out"))  # fmt: skip
    yield Case("compare: a missing run", "compare",
               argv=("compare", "runs/a", "runs/none", "--out", "out"))  # fmt: skip
    yield Case("compare: --out is a run", "compare",
               argv=("compare", "runs/a", "runs/b", "--out", "runs/a"))  # fmt: skip


def fault_cases() -> Iterator[Case]:
    """Signals while a run works, and runs that race for one output folder."""
    for name in ("SIGINT", "SIGTERM"):
        exit_code = SIGINT_EXIT if name == "SIGINT" else SIGTERM_EXIT
        yield Case(f"{name} during a run", "faults", fault=name,
                   allowed=frozenset({OK, exit_code}))  # fmt: skip
    yield Case("SIGKILL during a run, then a run", "faults", fault="SIGKILL")
    yield Case("four runs to one --out at once", "faults", fault="concurrent")


def all_cases() -> list[Case]:
    makers = (scenario_cases, population_cases, site_cases, geometry_cases, path_cases,
              output_cases, cli_cases, compare_cases, fault_cases)  # fmt: skip
    return [case for make in makers for case in make()]


# --- running -------------------------------------------------------------------------------


def digest(folder: Path) -> str:
    """One hash over every name and byte under `folder` (empty when it does not exist)."""
    hashed = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            hashed.update(str(path.relative_to(folder)).encode())
            if path.is_file():
                hashed.update(path.read_bytes())
    return hashed.hexdigest()


def _siting(argv: tuple[str, ...] | list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SITING, *argv], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


class Battery:
    """The base inputs and good earlier results, made once, copied into each case's folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = root / "base"
        self.base.mkdir()
        (self.base / "cells.csv").write_text(DEMAND)
        (self.base / "sites.csv").write_text(SITES)
        (self.base / "scenario.toml").write_text(scenario())
        more = scenario({("problems", "n_sites"): "3"})
        (self.base / "scenario_b.toml").write_text(more)
        for argv in (("run", "scenario.toml", "--out", "out"),
                     ("run", "scenario.toml", "--out", "runs/a"),
                     ("run", "scenario_b.toml", "--out", "runs/b")):  # fmt: skip
            self._must_pass(argv)
        # a slower run for the faults: the Swedish demo scenario, the state's offices
        self.slow = (
            Path(__file__).resolve().parents[1] / "data" / "scenarios" / "servicekontor.toml"
        )

    def _must_pass(self, argv: tuple[str, ...]) -> None:
        done = subprocess.run([*SITING, "-q", *argv], cwd=self.base, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"battery: the base run {' '.join(argv)} failed: {done.stderr.strip()}")

    def run(self, index: int, case: Case) -> Outcome:
        folder = self.root / f"case{index:03d}"
        shutil.copytree(self.base, folder, symlinks=True)
        for name, content in case.files.items():
            path = folder / name
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        if case.prepare is not None:
            case.prepare(folder)
        out = _out_of(case, folder)
        before = digest(out)
        started = time.perf_counter()
        if case.fault is None:
            code, stderr = self._plain(case, folder)
        else:
            code, stderr = self._fault(case, folder)
        lines = [line for line in stderr.splitlines() if line.strip()]
        if case.fault is not None:  # these runs log (to see when work starts): skip log lines
            lines = [line for line in lines if not line.startswith(_LOG_LEVELS)]
        return Outcome(
            case, code, lines[0][:150] if lines else "", len(lines), digest(out) == before,
            _leftovers(out), "Traceback" in stderr, round(time.perf_counter() - started, 2),
        )  # fmt: skip

    def _plain(self, case: Case, folder: Path) -> tuple[int, str]:
        try:
            process = _siting(("-q", *case.argv), folder)
            _, stderr = process.communicate(timeout=TIMEOUT_S)
        except ValueError as error:  # argv Python refuses to pass (a NUL byte)
            return -1, f"battery: {error}"
        except subprocess.TimeoutExpired:
            process.kill()
            return -1, "battery: timed out"
        return process.returncode, stderr

    def _fault(self, case: Case, folder: Path) -> tuple[int, str]:
        argv = ("run", str(self.slow), "--out", "out")
        if case.fault == "concurrent":
            return _concurrent(argv, folder)
        process = _siting(argv, folder)
        _wait_for_work(process)
        sent = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
        process.send_signal(sent[str(case.fault)])
        _, stderr = process.communicate(timeout=TIMEOUT_S)
        code = _exit_code(process.returncode)
        if case.fault != "SIGKILL":
            return code, stderr
        # killed: nothing to say; the next run must clean up and finish
        after = _siting(("-q", *argv), folder)
        _, stderr = after.communicate(timeout=TIMEOUT_S)
        return after.returncode, stderr


def _out_of(case: Case, folder: Path) -> Path:
    if "--out" in case.argv:
        out = case.argv[case.argv.index("--out") + 1]
        if "\0" not in out and len(out) < 4096 and all(len(p) < 256 for p in out.split("/")):
            return folder / out
    return folder / "out"


def _leftovers(out: Path) -> list[str]:
    """Hidden temporaries of `out` left beside it."""
    try:
        siblings = list(out.parent.iterdir())
    except OSError:
        return []
    prefix = f".{out.name}."
    return sorted(p.name for p in siblings if p.name.startswith(prefix) and
                  p.name.endswith((".tmp", ".old")))  # fmt: skip


def _wait_for_work(process: subprocess.Popen[str]) -> None:
    """Until the run has loaded its inputs (a log line on stderr), so a signal meets real work."""
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line or "Loaded" in line or "OD matrix" in line:
            break
    time.sleep(0.5)


def _exit_code(returncode: int) -> int:
    # a process killed by a signal it did not handle reports -signal; the shell says 128+n
    return 128 - returncode if returncode < 0 else returncode


def _concurrent(argv: tuple[str, ...], folder: Path) -> tuple[int, str]:
    """Four runs to one folder: each must finish or refuse clearly; the worst code is kept."""
    processes = [_siting(("-q", *argv), folder) for _ in range(4)]
    results = [p.communicate(timeout=TIMEOUT_S) for p in processes]
    codes = [p.returncode for p in processes]
    stderr = "\n".join(e for _, e in results if e.strip())
    failed = [c for c in codes if c != 0]
    if not (folder / "out" / "summary.json").is_file():
        return -1, "battery: no complete result after four concurrent runs\n" + stderr
    return (failed[0] if failed else 0), (stderr.splitlines() or [""])[0]


# --- report --------------------------------------------------------------------------------


def _table(outcomes: list[Outcome]) -> str:
    rows = [f"{'case':<48} {'exit':>4}  {'untouched':<9} {'ok':<3} first line of stderr"]
    for o in outcomes:
        mark = "yes" if o.passed else "NO"
        untouched = "yes" if o.untouched else "no"
        rows.append(f"{o.case.name[:48]:<48} {o.exit_code:>4}  {untouched:<9} {mark:<3} "
                    f"{o.first_line[:110]}")  # fmt: skip
    return "\n".join(rows)


def _summary(outcomes: list[Outcome], seconds: float) -> dict[str, object]:
    failed = [o for o in outcomes if not o.passed]
    return {
        "cases": len(outcomes),
        "passed": len(outcomes) - len(failed),
        "failed": len(failed),
        "by_exit_code": {
            str(c): sum(o.exit_code == c for o in outcomes)
            for c in sorted({o.exit_code for o in outcomes})
        },
        "tracebacks": sum(o.traceback for o in outcomes),
        "outputs_changed_on_refusal": sum(not o.untouched and o.exit_code != OK for o in outcomes),
        "leftover_temporaries": sum(bool(o.leftovers) for o in outcomes),
        "seconds": round(seconds, 1),
        "failures": [
            {
                "case": o.case.name,
                "group": o.case.group,
                "exit": o.exit_code,
                "lines": o.lines,
                "untouched": o.untouched,
                "leftovers": o.leftovers,
                "stderr": o.first_line,
            }
            for o in failed
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="cases run at once")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument("--json-only", action="store_true", help="print only the JSON summary")
    options = parser.parse_args()
    cases = [c for c in all_cases() if options.only in c.name]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="siting-battery-") as root:
        battery = Battery(Path(root))
        with ThreadPoolExecutor(options.workers) as pool:
            outcomes = list(pool.map(battery.run, range(len(cases)), cases))
        for path in Path(root).rglob("locked"):
            path.chmod(0o755)  # so the temporary folder can be removed
    summary = _summary(outcomes, time.perf_counter() - started)
    if not options.json_only:
        print(_table(outcomes))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0 if not summary["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
