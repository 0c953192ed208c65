"""Start a Dask cluster on SLURM (dask-jobqueue) for `siting od --dask ADDRESS`.

Run this on the cluster's login node, in the environment where siting is installed (the
workers start from the same environment, so they import the same siting)::

    pip install dask-jobqueue
    python examples/dask/slurm_cluster.py --jobs 4   # prints tcp://<login node>:8786, waits

Then, from any shell that can reach that address, the run is the one used on a laptop with
only the scheduler address changed::

    siting network sweden-latest.osm.pbf --prepared /shared/sweden-roads
    siting od cells.gpkg offices.csv --network /shared/sweden-roads \\
        --max-minutes 90 --blocks /shared/od-blocks --out /shared/od.npz \\
        --dask tcp://<login node>:8786

The prepared network and the block store must be on a file system every node sees at the
same path (the home or project file system, Lustre, NFS): each worker process loads the
network from that folder once, memory-mapped, and writes its finished blocks there. A job
that the scheduler kills (walltime, pre-emption) loses only its unfinished blocks: run the
same `siting od` again and it computes just those.

Each worker process runs one thread: a contraction-hierarchy search holds its metric for the
whole search, so threads in one process would wait for each other; processes do not.
"""

from __future__ import annotations

import argparse
import time

from dask_jobqueue import SLURMCluster


def main() -> None:
    """Start the scheduler here and `--jobs` SLURM jobs of workers; wait until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4, help="SLURM jobs (nodes) to start")
    parser.add_argument("--cores", type=int, default=16, help="cores per job: one worker each")
    parser.add_argument("--memory", default="64GB", help="memory per job")
    parser.add_argument("--queue", default=None, help="SLURM partition")
    parser.add_argument("--account", default=None, help="SLURM account")
    parser.add_argument("--walltime", default="04:00:00")
    args = parser.parse_args()
    cluster = SLURMCluster(
        queue=args.queue,
        account=args.account,
        cores=args.cores,
        processes=args.cores,  # one single-threaded worker process per core
        memory=args.memory,
        walltime=args.walltime,
        scheduler_options={"port": 8786, "dashboard_address": ":8787"},
    )
    cluster.scale(jobs=args.jobs)
    print(cluster.scheduler_address, flush=True)
    try:
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        cluster.close()


if __name__ == "__main__":
    main()
