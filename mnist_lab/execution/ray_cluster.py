"""The Ray executor: a run trains on any node of a Ray cluster and is mirrored here as it trains.

No shared filesystem is assumed. The task receives the run's ``config.json``, trains in a
temporary directory on its node (the same worker code as locally, with the dataset shipped
in the package), and streams back what it writes: new ``metrics.jsonl`` lines and
``status.json`` every half second, then every other file of the run directory (model,
normalizer, evaluation, predictions, history, ``tb/``) once it ends. A thread in the
launching process writes them into the run directory here, so live charts and every page
read a cluster run like a local one; ``status.json`` names the ``node`` that trained it.

A node lost mid-trial leaves the run ``interrupted`` with what had arrived (it is not
retried). Ray tells a stream that its node died, but not always (a node that hangs rather
than dies), so a stream silent for a few seconds makes the thread ask the cluster whether the
node still lives. The launching process is the run's recorded pid, so a run whose launcher died
reads as interrupted too.

A trial holds its node's CPU for as long as it trains: the task never blocks on a Ray call
(a blocked task lends its CPU, and the node would start a second trial beside it), so a
cluster trains one trial per CPU. Every file name a node sends back is confined to the run's
directory (`returned_path`), and what a task returns is unpickled here, so this process
connects only to the cluster that whoever started the server configured
(``$MNIST_LAB_CLUSTER``) or the teacher chose: never to an address a student typed.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from mnist_lab import status as status_file
from mnist_lab.datasets import dataset_files
from mnist_lab.engines import engine_of
from mnist_lab.evaluation import EVALUATION_FILE, PREDICTIONS_FILE
from mnist_lab.execution.dispatcher import admit
from mnist_lab.execution.executor import Executor
from mnist_lab.execution.queue_entry import RAY, enqueue, mark_started
from mnist_lab.files import DamagedRunError, atomic_write_bytes, now_iso
from mnist_lab.preprocess import NORMALIZER_FILE
from mnist_lab.processes import process_start_time
from mnist_lab.records import HISTORY_FILE, METRICS_FILE
from mnist_lab.runs import CONFIG_FILE, TENSORBOARD_DIR, Run, RunStore
from mnist_lab.status import LIVE_STATES, QUEUED

STREAM_S = 0.5
# How long the mirror waits for a trial's next batch before it asks whether the trial's node
# is still alive: Ray's own notice of a lost node can fail to reach a waiting stream.
NODE_CHECK_S = 5.0
# A batch that is ready is already here; this only bounds a fetch from a node that just died.
FETCH_TIMEOUT_S = 60.0
# How often the launching process lets waiting runs onto the cluster.
ADMIT_POLL_S = 0.3
# One admitting thread per run store in this process (a server launches from many sessions).
_ADMITTERS: dict[str, threading.Thread] = {}
_ADMITTERS_LOCK = threading.Lock()
# This process's stop board, by the Ray job (connection) it was made in: see `stop_board`.
_BOARDS: dict[str, object] = {}
_BOARDS_LOCK = threading.Lock()
NAMESPACE = "mnist_lab"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# What a node may send back besides the engine's model files: the files every run keeps.
RETURNED_FILES = frozenset({HISTORY_FILE, NORMALIZER_FILE, EVALUATION_FILE, PREDICTIONS_FILE})
# One part of a returned file's path: no "..", no hidden name, no separator.
RETURNED_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
MAX_RETURNED_DEPTH = 6


class RefusedFile(ValueError):
    """A node sent back a file name that would leave, or is not kept in, the run directory."""


def _this_node() -> tuple[str, str]:
    """This node's Ray id, and the node in words: its IP address and the start of that id."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    return node_id, f"{ray.util.get_node_ip_address()} node {node_id[:8]}"


def _node_alive(node_id: str) -> bool:
    """Whether the cluster still counts the node ``node_id`` among its live ones."""
    import ray

    return any(node["NodeID"] == node_id and node["Alive"] for node in ray.nodes())


def train_on_node(config: dict, run_id: str, board, datasets: dict[str, bytes] | None = None):
    """The Ray task: train ``config`` in a temporary run directory, yielding what it writes.

    ``datasets`` holds a user dataset's files (`mnist_lab.datasets.dataset_files`), written
    beside the run directory as in the runs directory they came from.

    Yields
    ------
    dict
        ``{"metrics": bytes, "status": dict, "node": str, "node_id": str}`` every
        `STREAM_S` while it trains, then ``{"files": {relative path: bytes}}`` once.
    """
    import tempfile

    from mnist_lab.execution.worker import run_worker

    node_id, node = _this_node()
    with tempfile.TemporaryDirectory(prefix="mnist-lab-") as temp:
        run = Run(Path(temp) / run_id)
        run.path.mkdir()
        for relative, data in (datasets or {}).items():
            (Path(temp) / relative).parent.mkdir(parents=True, exist_ok=True)
            (Path(temp) / relative).write_bytes(data)
        run.write_json(CONFIG_FILE, config)
        # As `RunStore.create` leaves a run: the worker starts only a run that still waits.
        run.update_status(state=QUEUED, message="Starting on this node.")
        worker = threading.Thread(target=run_worker, args=(run.path,), daemon=True)
        worker.start()
        stop = StopQuestion(board, run_id)
        sent = 0
        while True:
            alive = worker.is_alive()
            data = run.file(METRICS_FILE).read_bytes() if run.file(METRICS_FILE).exists() else b""
            # Whole lines only: a line being written goes out with the next batch.
            end = data.rfind(b"\n") + 1
            try:
                status = run.raw_status()
            except DamagedRunError:
                status = {}
            yield {"metrics": data[sent:end], "status": status, "node": node, "node_id": node_id}
            sent = end
            if not alive:
                break
            if not run.stop_requested() and stop.asked():
                run.request_stop()
            time.sleep(STREAM_S)
        # What the launcher keeps (`returned_path`); not its own config, status, stop request.
        names = [str(path.relative_to(run.path)) for path in run.path.rglob("*") if path.is_file()]
        yield {"files": {name: run.file(name).read_bytes() for name in names if _kept(run, name)}}


class StopQuestion:
    """Whether the stop board lists a run, asked without ever blocking the task.

    A task blocked in ``ray.get`` or ``ray.wait`` on an answer not yet there lends its CPU
    back to its node, which may then start a second trial beside it: the answer is taken
    from a future that Ray fills in the background, only once it is done.
    """

    def __init__(self, board, run_id: str):
        self.board, self.run_id, self.pending = board, run_id, None

    def asked(self) -> bool:
        """True once the board's answer to the last question is in and says stop."""
        if self.pending is None:
            self.pending = self.board.is_set.remote(self.run_id).future()
            return False
        if not self.pending.done():
            return False
        answer, self.pending = self.pending, None
        # A board being restarted answers with an error; the launcher tells it again with
        # every batch it receives, so the next question learns.
        return answer.exception() is None and bool(answer.result())


def stop_board():
    """This process's stop board: one Ray actor for every run it launches, made once.

    Held here by the handle that made it, for as long as the process stays connected: a
    non-detached actor dies with the handle that made it, and one found by name (from another
    executor or another process) is a weak handle that does not keep it alive. A board per
    executor, or one shared by name, would die with the launch that made it, and a
    classmate's run launched meanwhile could no longer be stopped.

    Returns
    -------
    ray.actor.ActorHandle
        The board: ``set.remote(run_id)`` asks a run's task to stop, ``is_set.remote(run_id)``
        is what the task asks (`StopQuestion`).
    """
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    job = ray.get_runtime_context().get_job_id()
    with _BOARDS_LOCK:
        if job not in _BOARDS:

            @ray.remote(num_cpus=0)
            class StopBoard:
                """Which runs were asked to stop: the tasks ask it, no file is shared."""

                def __init__(self):
                    self.stopped = set()

                def set(self, run_id: str) -> None:
                    self.stopped.add(run_id)

                def is_set(self, run_id: str) -> bool:
                    return run_id in self.stopped

            # A board of an earlier connection (before `ray.shutdown`) went with it.
            _BOARDS.clear()
            # On the launcher's own node, restarted if lost: a dead worker node must not take
            # the board, and with it every other trial, down.
            _BOARDS[job] = StopBoard.options(
                max_restarts=-1,
                scheduling_strategy=NodeAffinitySchedulingStrategy(
                    node_id=ray.get_runtime_context().get_node_id(), soft=True
                ),
            ).remote()
        return _BOARDS[job]


def returned_path(run: Run, name: str) -> Path:
    """Where a file that ``run``'s node sent back as ``name`` goes, inside its directory.

    Raises
    ------
    RefusedFile
        If ``name`` is absolute, climbs out (``..``), passes a link, or is not a file a run
        keeps (its engine's model files, `RETURNED_FILES`, TensorBoard logs under ``tb/``).
    """
    parts = PurePosixPath(name).parts if isinstance(name, str) else ()
    if (
        not parts
        or len(parts) > MAX_RETURNED_DEPTH
        or not all(RETURNED_PART.fullmatch(part) for part in parts)
    ):
        raise RefusedFile(f"{name!r} is not a plain name inside the run directory")
    kept = RETURNED_FILES | set(engine_of(run).model_files)
    if not (len(parts) == 1 and parts[0] in kept) and not (
        len(parts) > 1 and parts[0] == TENSORBOARD_DIR
    ):
        raise RefusedFile(f"{name!r} is not a file a run keeps")
    path = run.path.joinpath(*parts)
    if any(p.is_symlink() for p in [path, *path.parents[: len(parts) - 1]]):
        raise RefusedFile(f"{name!r} leads through a link")
    return path


def _kept(run: Run, name: str) -> bool:
    try:
        returned_path(run, name)
    except RefusedFile:
        return False
    return True


def write_returned_files(run: Run, files: dict) -> None:
    """Write the files ``run``'s node sent back once it ended: all of them, or none.

    Raises
    ------
    RefusedFile
        If any name is refused by `returned_path` or its content is not bytes; nothing is
        written then.
    """
    paths = {returned_path(run, name): data for name, data in files.items()}
    if not all(isinstance(data, bytes) for data in paths.values()):
        raise RefusedFile("a file came back without bytes")
    for path, data in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)


def mirror(run: Run, batches: Iterable[dict]) -> None:
    """Write what ``run``'s task streams into its directory here, until the task ends.

    A stream that breaks (a lost node) leaves the run interrupted with what had arrived; a
    file the node names outside the run's own files leaves it failed, saying which.
    """
    final = None
    try:
        for item in batches:
            if "files" in item:
                write_returned_files(run, item["files"])
                continue
            if isinstance(item["metrics"], bytes) and item["metrics"]:
                with open(run.file(METRICS_FILE), "ab") as handle:
                    handle.write(item["metrics"])
            fields = {k: v for k, v in item["status"].items() if k not in ("pid", "pid_start")}
            fields["node"] = str(item["node"])
            if fields.get("state") in LIVE_STATES:
                status_file.update(run.path, fields)
            else:
                # The end is told only once the model and evaluation are here too.
                final = fields
        if final is None:
            raise RuntimeError("the task ended without reporting an outcome")
        status_file.update(run.path, final)
    except RefusedFile as error:
        run.update_status(
            when=LIVE_STATES,
            state="failed",
            message=f"Its node sent back a file this lab refuses ({error}): nothing it sent "
            "at the end was kept.",
            ended=now_iso(),
        )
    except Exception as error:
        # A run that has already ended keeps its end.
        run.update_status(
            when=LIVE_STATES,
            state="interrupted",
            message=f"The cluster lost this run ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'}). Metrics up to "
            "then are kept; it is not retried.",
            ended=now_iso(),
        )


def check_reachable(cluster: str, timeout_s: float = 5.0) -> None:
    """Raise ``ValueError`` at once unless ``HOST:PORT`` accepts a connection.

    ``ray.init`` would retry an unreachable address for minutes before it gives up.
    """
    import socket

    host, _, port = cluster.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"a cluster address is HOST:PORT, got {cluster!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise ValueError(
            f"cannot reach the Ray cluster at {cluster} ({error.strerror or error}). Is "
            "`ray start --head` running there, and is this its address?"
        ) from None


class RayExecutor(Executor):
    """Trains runs on a Ray cluster; their run directories stay on this machine.

    Parameters
    ----------
    store : RunStore
        Where the run directories live (here).
    cluster : str
        The head node's ``HOST:PORT`` (what ``ray start --head`` printed).

    Raises
    ------
    ValueError
        If the cluster cannot be reached, saying what to check.
    """

    def __init__(self, store: RunStore, cluster: str):
        import ray

        self.store = store
        self.where = f"the Ray cluster at {cluster}"
        check_reachable(cluster)
        try:
            ray.init(
                address=cluster,
                namespace=NAMESPACE,
                ignore_reinit_error=True,
                log_to_driver=False,
                # The package travels to every node, MNIST with it: nothing to install there
                # but Ray and the requirements.
                runtime_env={"py_modules": [str(PACKAGE_DIR)]},
            )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ValueError(
                f"cannot reach the Ray cluster at {cluster!r} ({error}). Start one with "
                "`ray start --head` and give the address it prints."
            ) from None

        self.board = stop_board()
        # One CPU per trial, and no retry: a node lost mid-trial leaves it interrupted.
        self.task = ray.remote(num_cpus=1, max_retries=0)(train_on_node)

    def slots(self) -> int:
        """Trials the cluster trains at once: one per CPU of its nodes now."""
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def trains_at_once(self) -> int:
        """A sweep on the cluster trains one trial per CPU unless told otherwise."""
        return self.slots()

    def launch(self, run: Run) -> None:
        """Queue ``run`` for the cluster; this process submits it when the fair policy says.

        The queue is the local one's (`mnist_lab.execution.queue_entry`), marked for Ray: a
        student's second run waits while classmates' first runs take the cluster's CPUs,
        and the teacher's order and cancels apply. A daemon thread of this process admits
        the runs, so the run reads as interrupted if this process ends before it does.
        """
        pid = os.getpid()
        run.update_status(
            state="queued",
            pid=pid,
            pid_start=process_start_time(pid),
            message=f"Waiting for a free CPU on {self.where}.",
        )
        enqueue(run, self.slots(), executor=RAY)
        key = str(self.store.root)
        with _ADMITTERS_LOCK:
            if key not in _ADMITTERS:
                _ADMITTERS[key] = threading.Thread(target=self._admit, daemon=True)
                _ADMITTERS[key].start()

    def _admit(self) -> None:
        """Submit this store's waiting Ray runs as the policy lets them in; end when none wait."""
        import ray

        key = str(self.store.root)
        while True:
            with _ADMITTERS_LOCK:
                # After ray.shutdown() a submit would start a new local Ray, not reach the cluster.
                connected = ray.is_initialized()
                starts, left = admit(self.store, RAY, self.slots()) if connected else ([], [])
                if not starts and not left:
                    del _ADMITTERS[key]
                    return
            for run, parallel in starts:
                self._submit(run, parallel)
            time.sleep(ADMIT_POLL_S)

    def _submit(self, run: Run, parallel: int) -> None:
        """Send ``run`` to the cluster and mirror it here from a daemon thread."""
        mark_started(run, parallel, os.getpid(), RAY)
        # MNIST travels with the package; a user's dataset goes along with the run.
        stream = self.task.options(num_returns="streaming").remote(
            run.config(), run.id, self.board, dataset_files(run)
        )
        batches = self._batches(run, stream)
        threading.Thread(target=mirror, args=(run, batches), daemon=True).start()

    def _batches(self, run: Run, stream):
        """Yield the task's batches as they arrive, passing on a stop the run was asked for.

        Raises
        ------
        ConnectionError
            If the node training the run is gone: asked whenever no batch came for
            `NODE_CHECK_S`, and every `NODE_CHECK_S` while batches come (a node whose Ray
            processes hang, declared dead by the cluster, may still have its trial stream).
        """
        import ray

        node_id, checked = None, time.monotonic()
        while True:
            if not ray.is_initialized():
                # Any call now would start a new local Ray instead of reaching the cluster.
                raise ConnectionError("this process has left the cluster")
            if run.stop_requested():
                self.board.set.remote(run.id)
            # Not next(stream): at the end of a stream whose node died, it fetches the task's
            # outcome from that node without a timeout and never returns. This bounded wait
            # (the generator's own, private in Ray 2.60) answers a nil ref when time is up.
            try:
                reference = stream._next_sync(timeout_s=NODE_CHECK_S)
            except StopIteration:
                return
            if node_id is not None and time.monotonic() - checked >= NODE_CHECK_S:
                checked = time.monotonic()
                if not _node_alive(node_id):
                    raise ConnectionError(f"its node {node_id[:8]} is no longer in the cluster")
            if reference.is_nil():
                continue
            # This unpickles what the node sent: trusted only because the cluster is the one
            # whoever started the server, or the teacher, configured (never a student's).
            item = ray.get(reference, timeout=FETCH_TIMEOUT_S)
            node_id = item.get("node_id", node_id)
            yield item
