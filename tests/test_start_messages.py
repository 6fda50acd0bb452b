"""A run says what it waits for before its first progress: the libraries, the data, the model,
the first batch or L-BFGS chunk."""

import pytest

from mnist_lab.execution.worker import run_worker
from mnist_lab.reporter import STAGES
from mnist_lab.runs import Run, RunStore


@pytest.fixture
def messages(monkeypatch):
    """Every message a run's status is given, in order, with the stage it names (if any)."""
    said = []
    update = Run.update_status

    def recording(self, when=None, **fields):
        if "message" in fields:
            said.append((fields["message"], fields.get("stage")))
        return update(self, when, **fields)

    monkeypatch.setattr(Run, "update_status", recording)
    return said


def test_a_keras_run_names_each_stage_before_its_first_batch(tmp_path, messages):
    config = {"engine": "keras", "preset": "softmax", "subset": 200, "epochs": 1}
    run = RunStore(tmp_path).create(config)
    assert run_worker(run.path) == "finished"
    stages = [stage for _, stage in messages if stage]
    assert stages == list(STAGES), messages
    first_progress = next(i for i, (text, _) in enumerate(messages) if text.startswith("Epoch 1"))
    assert [stage for _, stage in messages[:first_progress] if stage] == list(STAGES)
    assert messages[first_progress][1] == "", "progress ends the stages"
    assert run.status()["stage"] == ""


def test_a_baseline_says_what_it_waits_for_before_its_first_chunk(tmp_path, messages):
    config = {"engine": "sklearn", "subset": 500, "max_iter": 20, "chunk_iterations": 10}
    run = RunStore(tmp_path).create(config)
    assert run_worker(run.path) == "finished"
    messages = [text for text, _ in messages]
    starting = messages.index("Starting: loading scikit-learn, numpy and the data…")
    first_chunk = messages.index("Fitting: first chunk of 10 L-BFGS iterations…")
    chunk_1 = next(i for i, text in enumerate(messages) if text.startswith("Fitting: chunk 1,"))
    assert starting < first_chunk < chunk_1, messages
