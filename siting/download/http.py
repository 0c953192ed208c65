"""Shared download machinery: the cache folder, an HTTP session, resumable verified downloads."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.util.retry import Retry

from siting._core.errors import DownloadError, InputError
from siting._core.version import __version__

logger = logging.getLogger(__name__)

CACHE_ENV = "SITING_CACHE_DIR"  # also where `siting.roads.network` and OD matrices are cached
USER_AGENT = f"siting/{__version__} (+https://pypi.org/project/siting/)"
TIMEOUT_S = (15.0, 120.0)  # connect, read between two chunks
# a cut connection loses the chunk being read, so chunks are small
CHUNK_BYTES = 1 << 18
# a dropped connection is resumed from where it stopped this many times in one call
_RESUME_ATTEMPTS = 3
# statuses worth a second try: the server is busy or restarting, not refusing the request
_RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRIES = 3
BACKOFF_S = 2.0  # waits 0, 4, 8 s between tries (urllib3 doubles it from the second)


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: `cache_dir`, else `$SITING_CACHE_DIR`, else `~/.cache/siting`."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "siting"


def http_session() -> requests.Session:
    """A session that retries refused connections and busy-server answers with backoff.

    urllib3's `Retry` does the waiting and counting; a body cut off mid-stream is not retried
    there but resumed by `download_file`.
    """
    retry = Retry(
        total=RETRIES,
        backoff_factor=BACKOFF_S,
        status_forcelist=_RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers["User-Agent"] = USER_AGENT
    return session


def get_response(
    session: requests.Session, url: str, *, what: str, **kwargs: object
) -> requests.Response:
    """GET `url`; a 4xx answer is bad input (exit 2), anything else that fails a DownloadError."""
    response = send_get(session, url, what=what, **kwargs)
    check_status(response, what=what)
    return response


def send_get(
    session: requests.Session, url: str, *, what: str, **kwargs: object
) -> requests.Response:
    """GET `url`, whatever the status; no answer at all is a DownloadError."""
    try:
        return session.get(url, timeout=TIMEOUT_S, **kwargs)  # type: ignore[arg-type]
    except requests.RequestException as error:
        msg = f"{what}: cannot reach {url} ({_short(error)})"
        raise DownloadError(msg) from error


def check_status(response: requests.Response, *, what: str) -> None:
    """Raise for an HTTP error status, naming the URL and what was being fetched."""
    if response.ok:
        return
    msg = f"{what}: {response.url} answered HTTP {response.status_code} {response.reason}"
    response.close()
    if response.status_code in (400, 404, 410):
        raise InputError(msg)
    raise DownloadError(msg)


def md5_of_file(path: Path) -> str:
    """Hex MD5 of a file, read in blocks (extracts run to gigabytes)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str,
    target: Path,
    *,
    session: requests.Session,
    expected_md5: str | None = None,
) -> Path:
    """Stream `url` into `target`, resuming an earlier partial download where one exists.

    Bytes go to `target.part` first; a dropped connection is resumed with an HTTP range request
    (`If-Range` makes the server send the whole file instead if it changed meanwhile). Only a
    complete file whose MD5 matches `expected_md5` is renamed to `target`, so `target` is never
    half written.

    Raises
    ------
    InputError
        If the server answers 400, 404 or 410.
    DownloadError
        If the connection fails more than a few times (the partial file is kept, and the next
        call resumes it), or the data does not match `expected_md5` (the partial file is
        deleted).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    for attempt in range(1, _RESUME_ATTEMPTS + 1):
        try:
            _download_part(url, part, session=session)
            break
        except requests.RequestException as error:
            done = part.stat().st_size if part.is_file() else 0
            logger.warning("%s: stopped after %d bytes (%s)", url, done, _short(error))
            if attempt == _RESUME_ATTEMPTS:
                msg = (
                    f"download of {url} stopped after {done} bytes ({_short(error)}); "
                    "run the same command again to resume it"
                )
                raise DownloadError(msg) from error
    _verify(part, url, expected_md5)
    # the partial file needs a stable name to be resumed, so it is renamed here rather than
    # written through siting._core.atomic; os.replace in one folder is atomic just the same
    os.replace(part, target)
    _validator_path(part).unlink(missing_ok=True)
    logger.info("%s: saved %s (%d bytes)", url, target, target.stat().st_size)
    return target


def _download_part(url: str, part: Path, *, session: requests.Session) -> None:
    offset = part.stat().st_size if part.is_file() else 0
    validator = _read_validator(part) if offset else None
    headers = {"Range": f"bytes={offset}-", "If-Range": validator} if validator else {}
    what = f"download of {url}"
    try:
        response = session.get(url, headers=headers, stream=True, timeout=TIMEOUT_S)
    except requests.ConnectionError as error:
        msg = f"{what}: cannot reach {url} ({_short(error)})"
        raise DownloadError(msg) from error
    with response:
        # the partial file is no prefix of the current one; unasked for, 416 is a server error
        if response.status_code == 416 and headers:
            part.unlink()
            response.close()
            _download_part(url, part, session=session)
            return
        check_status(response, what=what)
        resumed = response.status_code == 206 and _range_start(response) == offset
        offset = offset if resumed else 0
        if offset:
            logger.info("%s: resuming after %d bytes", url, offset)
        _write_validator(part, response)
        total = _content_length(response)
        expected = None if total is None else offset + total
        _stream(response, part, append=resumed, offset=offset, expected=expected)
    size = part.stat().st_size
    if expected is not None and size != expected:
        msg = f"{url}: got {size} of {expected} bytes"
        raise requests.ConnectionError(msg)


def _stream(
    response: requests.Response, part: Path, *, append: bool, offset: int, expected: int | None
) -> None:
    bar = tqdm(
        total=expected,
        initial=offset,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=part.name.removesuffix(".part"),
        disable=None,  # no bar when not a terminal
        leave=False,
    )
    with bar, part.open("ab" if append else "wb") as file:
        for chunk in response.iter_content(CHUNK_BYTES):
            file.write(chunk)
            bar.update(len(chunk))


def _verify(part: Path, url: str, expected_md5: str | None) -> None:
    if expected_md5 is None:
        return
    actual = md5_of_file(part)
    if actual != expected_md5.lower():
        part.unlink()
        _validator_path(part).unlink(missing_ok=True)
        msg = (
            f"{url}: MD5 {actual} does not match the published {expected_md5}; "
            "the download was deleted, run the command again"
        )
        raise DownloadError(msg)
    logger.info("%s: MD5 %s verified", url, actual)


def _validator_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _read_validator(part: Path) -> str | None:
    """The ETag or Last-Modified of the response the partial file came from."""
    try:
        stored = json.loads(_validator_path(part).read_text())
    except (OSError, ValueError):
        return None
    value = stored.get("validator") if isinstance(stored, dict) else None
    return value if isinstance(value, str) else None


def _write_validator(part: Path, response: requests.Response) -> None:
    # a weak ETag cannot guard a range request (RFC 9110 13.1.5); Last-Modified then does
    etag = response.headers.get("ETag", "")
    validator = (
        etag if etag and not etag.startswith("W/") else response.headers.get("Last-Modified")
    )
    path = _validator_path(part)
    if validator:
        path.write_text(json.dumps({"validator": validator}))
    else:
        path.unlink(missing_ok=True)


def _range_start(response: requests.Response) -> int | None:
    content_range = response.headers.get("Content-Range", "")  # "bytes 100-999/1000"
    unit, _, spec = content_range.partition(" ")
    start = spec.partition("-")[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def _content_length(response: requests.Response) -> int | None:
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() and "Content-Encoding" not in response.headers else None


def _short(error: BaseException) -> str:
    """The last line of an exception's text: requests nests causes into long messages."""
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())[:300]
