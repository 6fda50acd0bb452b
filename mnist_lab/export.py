"""A run as code to take home: a standalone Python script or a Jupyter notebook.

The run's engine describes it as `CodeStep`s (`mnist_lab.engines.base.Engine.export_steps`,
written with the toolkit of `mnist_lab.engines.code`); this module asks the registry for
that engine and owns the two file formats around its steps.
"""

from __future__ import annotations

import textwrap

from mnist_lab.assignments.secrecy import ScoreWithheld, shown_evaluation
from mnist_lab.engines import engine_of
from mnist_lab.engines.code import NPZ_ENV, CodeStep
from mnist_lab.runs import Run

# format -> file suffix
EXPORT_FORMATS = {"script": ".py", "notebook": ".ipynb"}
COMMENT_WIDTH = 96


def export_run(run: Run, export_format: str) -> str:
    """``run`` as a standalone program that retrains it and prints its test accuracy.

    Parameters
    ----------
    run : Run
        A run whose engine can export (see `Engine.export_steps`) and which has fitted its
        normalization (``normalizer.json``).
    export_format : {"script", "notebook"}
        A Python script, or a Jupyter notebook (nbformat 4 JSON).

    Returns
    -------
    str
        The file's text.

    Raises
    ------
    ValueError
        If the format is unknown, or the run cannot be exported (its message says why).
    """
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {list(EXPORT_FORMATS)}, got {export_format!r}")
    engine = engine_of(run)
    steps = engine.export_steps(run)
    header = _header(run, engine.title)
    if export_format == "script":
        return script_text(header, steps)
    return notebook_text(header, steps)


def _header(run: Run, engine_title: str) -> list[str]:
    """A title and paragraphs: what the program reproduces (no user text in them).

    The run's accuracy is quoted as every page shows it (`mnist_lab.assignments.secrecy`):
    while an assignment hides part of the test split, on the digits students can see, and
    not at all while it cannot be cut to them.
    """
    try:
        evaluation = shown_evaluation(run)
    except ScoreWithheld:
        evaluation = None
    part = evaluation and evaluation.get("part")
    on = f" on the {evaluation['n_test']:,} test digits students can see" if part else ""
    result = f"{engine_title}, exported as standalone code. " + (
        f"The run reached a test accuracy of {evaluation['test_accuracy']:.4f}{on}; this code "
        "trains the same model on the same digits with the same settings and prints its own "
        "test accuracy, which lands within about a point of it."
        if evaluation
        else "This code trains the same model on the same digits with the same settings."
    )
    return [
        f"MNIST Lab run {run.id}",
        result,
        f"Without internet, point the {NPZ_ENV} environment variable at a local copy of "
        "mnist.npz (MNIST Lab ships one as mnist_lab/data/mnist.npz).",
    ]


def script_text(header: list[str], steps: list[CodeStep]) -> str:
    """A Python script: the header as its docstring, then each step under its comment.

    Blank lines follow PEP 8 (two around a function), so the script is as ruff formats it.
    """
    paragraphs = [textwrap.fill(paragraph, COMMENT_WIDTH) for paragraph in header]
    blocks = ['"""' + "\n\n".join(paragraphs) + '\n"""']
    for step in steps:
        comment = textwrap.fill(
            step.comment, COMMENT_WIDTH, initial_indent="# ", subsequent_indent="# "
        )
        blocks.append(f"{comment}\n{step.code.strip()}".strip())
    text = blocks[0]
    for previous, block in zip(blocks, blocks[1:], strict=False):
        functions = _defines_function(previous) or _defines_function(block)
        text += ("\n\n\n" if functions else "\n\n") + block
    return text + "\n"


def _defines_function(block: str) -> bool:
    """Whether a block of code defines a top-level function."""
    return any(line.startswith("def ") for line in block.splitlines())


def notebook_text(header: list[str], steps: list[CodeStep]) -> str:
    """A Jupyter notebook: a markdown title, then a markdown and a code cell per step."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    title, *paragraphs = header
    cells = [nbformat.v4.new_markdown_cell("\n\n".join([f"# {title}", *paragraphs]))]
    for step in steps:
        if step.comment:
            cells.append(nbformat.v4.new_markdown_cell(step.comment))
        cells.append(nbformat.v4.new_code_cell(step.code.strip()))
    notebook.cells = cells
    nbformat.validate(notebook)
    return nbformat.writes(notebook)
