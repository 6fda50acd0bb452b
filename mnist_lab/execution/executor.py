"""The one interface every launch goes through: an executor trains a run directory somewhere.

`LocalExecutor` (the default, nothing to start) trains on this machine; `RayExecutor` trains
on any node of a Ray cluster and mirrors the run into the local run directory as it trains.
Single runs (the Train page, ``python -m mnist_lab train``) and sweeps both launch with
``executor.launch(run)`` on a run made by `RunStore.create`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

from mnist_lab.runs import Run, RunStore

CLUSTER_ENV = "MNIST_LAB_CLUSTER"


class Executor(ABC):
    """Trains run directories; the run directory stays the only channel to the pages."""

    # Where its runs train, in words, for progress lines and the Sweeps page.
    where: str = ""

    @abstractmethod
    def launch(self, run: Run) -> object:
        """Start training ``run`` (state ``queued`` until it gets a slot) and return at once."""


def executor_for(
    store: RunStore, cluster: str | None = None, parallel: int | None = None
) -> Executor:
    """The executor for ``cluster`` (or ``$MNIST_LAB_CLUSTER``): Ray there, else this machine.

    Parameters
    ----------
    store : RunStore
        Where the run directories live (on this machine, whichever executor trains them).
    cluster : str, optional
        A Ray cluster's address (``HOST:PORT`` of ``ray start --head``).
    parallel : int, optional
        Runs training at once on this machine (the local executor only).

    Raises
    ------
    ValueError
        If the cluster cannot be reached, saying what to check.
    """
    cluster = cluster or os.environ.get(CLUSTER_ENV) or None
    if cluster is None:
        from mnist_lab.execution.local import LocalExecutor

        return LocalExecutor(store, parallel=parallel)
    from mnist_lab.execution.ray_cluster import RayExecutor

    return RayExecutor(store, cluster)
