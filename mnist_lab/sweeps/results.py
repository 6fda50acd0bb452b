"""A sweep's trials read back as rows: parameters, state, test accuracy, where it trained."""

from __future__ import annotations

from mnist_lab.assignments.secrecy import part_of, secret_parts
from mnist_lab.files import DamagedRunError
from mnist_lab.sweeps.driver import test_accuracy
from mnist_lab.sweeps.space import Parameter, distributions
from mnist_lab.sweeps.store import Sweep

RESULT_KEYS = ("trial", "state", "test_accuracy", "pruned", "node", "run", "name")


def trial_rows(sweep: Sweep) -> list[dict]:
    """One row per launched trial, in launch order.

    Returns
    -------
    list of dict
        ``trial`` (point number from 1), ``state``, ``test_accuracy`` (None until it has one),
        ``pruned``, ``node`` (where it trained), ``run`` (its id), ``name``, ``seed``,
        ``scored_on`` (None for the whole test split, else the `Part.describe` of the digits
        its test accuracy counts while an assignment hides the others) and one key per swept
        parameter.
    """
    rows = []
    parts = secret_parts(sweep.run_store.root)
    for trial, run in zip(sweep.trials(), sweep.runs(), strict=True):
        status = run.status()
        try:
            seed = run.config().get("seed")
            part = part_of(run, parts)
        except DamagedRunError:
            seed, part = None, None
        rows.append(
            {
                "trial": trial.point + 1,
                "state": status["state"],
                "test_accuracy": test_accuracy(run, parts),
                "pruned": trial.pruned,
                "node": status.get("node", "this machine"),
                "run": run.id,
                "name": run.name,
                "seed": seed,
                "scored_on": None if part is None else part.describe(),
                **trial.params,
            }
        )
    return rows


def best_first(rows: list[dict]) -> list[dict]:
    """``rows`` sorted by test accuracy, best first; trials without one last."""
    return sorted(rows, key=lambda row: -(row["test_accuracy"] or -1.0))


def results_text(rows: list[dict], parameters: list[str]) -> str:
    """The trials as a plain-text table sorted by test accuracy, for the CLI.

    Examples
    --------
    >>> row = {"trial": 1, "state": "finished", "test_accuracy": 0.9, "pruned": False,
    ...        "node": "this machine", "run": "r1", "name": "n", "seed": 0, "lr": 0.01}
    >>> print(results_text([row], ["lr"]))
    test acc  state     trial  lr    node          run
      90.00%  finished      1  0.01  this machine  r1
    """
    header = ["test acc", "state", "trial", *parameters, "node", "run"]
    table = [header]
    for row in best_first(rows):
        accuracy = "-" if row["test_accuracy"] is None else f"{row['test_accuracy']:.2%}"
        state = row["state"] + (" (pruned)" if row["pruned"] else "")
        values = [_value(row.get(name)) for name in parameters]
        table.append([accuracy, state, str(row["trial"]), *values, row["node"], row["run"]])
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    # Numbers read best right-aligned: the accuracy and the trial number.
    right = {0, 2}
    return "\n".join(
        "  ".join(
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    )


def _value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def parameter_importance(rows: list[dict], parameters: list[Parameter]) -> dict[str, float]:
    """How much of the test accuracy's variation each parameter explains (Optuna's fANOVA).

    Parameters
    ----------
    rows : list of dict
        `trial_rows`; only trials with a test accuracy count.
    parameters : list of Parameter
        The sweep's parameters.

    Returns
    -------
    dict
        Parameter name -> importance (summing to 1), most important first; empty while
        fewer than two trials have a result or nothing varied.
    """
    import optuna

    scored = [row for row in rows if row["test_accuracy"] is not None]
    varied = [p for p in parameters if len({repr(row.get(p.name)) for row in scored}) > 1]
    if len(scored) < 2 or not varied:
        return {}
    shapes = distributions(varied)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    for row in scored:
        params = {p.name: row[p.name] for p in varied}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=shapes, value=row["test_accuracy"]
            )
        )
    try:
        # fANOVA's forest, with a fixed seed so the page shows the same numbers every rerun.
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError):
        return {}
    return {name: float(value) for name, value in importances.items()}
