"""The one interface every launch goes through: an executor trains a run directory somewhere.

`mnist_lab.execution.local.LocalExecutor` (the default, nothing to start) trains on this
machine; `mnist_lab.execution.ray_cluster.RayExecutor` trains on any node of a Ray cluster and
mirrors the run into the local run directory as it trains. Which one a launch uses is chosen
above both, by `mnist_lab.launch.executor_for`; every launcher calls `mnist_lab.launch.launch`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from mnist_lab.runs import Run


class Executor(ABC):
    """Trains run directories; the run directory stays the only channel to the pages."""

    # Where its runs train, in words, for progress lines and the Sweeps page.
    where: str = ""

    def trains_at_once(self) -> int:
        """How many runs it trains at once when a caller sets no number (a sweep): one here."""
        return 1

    @abstractmethod
    def launch(self, run: Run) -> object:
        """Start training ``run`` (state ``queued`` until it gets a slot) and return at once."""
