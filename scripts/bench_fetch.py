"""Throughput of `siting.download.http.download_file` against a plain streamed copy, on localhost.

A file of --megabytes random bytes is served by http.server from a temporary folder. Each run
downloads it with siting (256 KiB chunks, progress bar off, partial file, MD5 check, rename) and
with the baseline (requests streaming `response.raw` into a file with shutil.copyfileobj, then
an MD5 pass). Prints JSON: medians in seconds, MB/s and siting's time over the baseline's.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from siting.download.http import download_file, http_session, md5_of_file


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _siting(url: str, target: Path, md5: str) -> None:
    download_file(url, target, session=http_session(), expected_md5=md5)


def _baseline(url: str, target: Path, md5: str) -> None:
    with requests.get(url, stream=True, timeout=60) as response, target.open("wb") as file:
        response.raise_for_status()
        shutil.copyfileobj(response.raw, file, length=1 << 20)
    assert md5_of_file(target) == md5


def _run(method: Callable[[str, Path, str], None], url: str, target: Path, *, md5: str) -> None:
    method(url, target, md5)


def _median_seconds(run: Callable[[Path], None], folder: Path, repeats: int) -> float:
    times = []
    for i in range(repeats):
        target = folder / f"out-{i}.bin"
        start = time.perf_counter()
        run(target)
        times.append(time.perf_counter() - start)
        target.unlink()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        served = folder / "served"
        served.mkdir()
        payload = served / "extract.osm.pbf"
        payload.write_bytes(os.urandom(args.megabytes << 20))
        md5 = hashlib.md5(payload.read_bytes()).hexdigest()
        handler = functools.partial(_QuietHandler, directory=str(served))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/extract.osm.pbf"
        results = {}
        for label, method in (("siting", _siting), ("baseline", _baseline)):
            run = functools.partial(_run, method, url, md5=md5)
            seconds = _median_seconds(run, folder, args.repeats)
            results[label] = {
                "median_s": round(seconds, 3),
                "mb_per_s": round(args.megabytes / seconds, 1),
            }
        httpd.shutdown()
    ratio = results["siting"]["median_s"] / results["baseline"]["median_s"]
    report = {"megabytes": args.megabytes, "repeats": args.repeats, **results}
    report["siting_over_baseline"] = round(ratio, 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
