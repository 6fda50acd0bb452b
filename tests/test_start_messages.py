"""A run says what it waits for before its first progress: the libraries, the first L-BFGS chunk."""

from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import Run, RunStore


def test_a_baseline_says_what_it_waits_for_before_its_first_chunk(tmp_path, monkeypatch):
    messages = []
    update = Run.update_status

    def recording(self, when=None, **fields):
        if "message" in fields:
            messages.append(fields["message"])
        return update(self, when, **fields)

    monkeypatch.setattr(Run, "update_status", recording)
    config = {"engine": "sklearn", "subset": 500, "max_iter": 20, "chunk_iterations": 10}
    run = RunStore(tmp_path).create(config)
    assert run_worker(run.path) == "finished"
    starting = messages.index("Starting: loading scikit-learn, numpy and the data…")
    first_chunk = messages.index("Fitting: first chunk of 10 L-BFGS iterations…")
    chunk_1 = next(i for i, text in enumerate(messages) if text.startswith("Fitting: chunk 1,"))
    assert starting < first_chunk < chunk_1, messages
