"""siting: where citizens get personal public service, from road travel times to maps."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .errors import InfeasibleError as InfeasibleError
from .errors import InputError as InputError
from .errors import SitingError as SitingError
from .errors import SitingWarning as SitingWarning

try:
    __version__ = version("siting")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"
