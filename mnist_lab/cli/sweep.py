"""``sweep``: many runs over a grid, a random sample or a Bayesian search, from one command."""

from __future__ import annotations

import argparse

from mnist_lab.cli.settings_flags import add_settings_flags, requested_values
from mnist_lab.engines import DEFAULT_ENGINE, ENGINES, all_engines
from mnist_lab.launch import CLUSTER_ENV, RepeatedLaunchError
from mnist_lab.runs import RunStore
from mnist_lab.settings import METADATA_KEYS
from mnist_lab.sweeps.driver import run_sweep, sweep_executor, trials_at_once
from mnist_lab.sweeps.results import results_text, trial_rows
from mnist_lab.sweeps.space import METHODS, parse_parameter
from mnist_lab.sweeps.store import Sweep, SweepDefinition, SweepStore


def add_sweep_parser(subparsers: argparse._SubParsersAction) -> None:
    """``sweep``: the flags of ``train`` for what stays fixed, plus what varies and how."""
    parser = subparsers.add_parser(
        "sweep",
        help="train many runs over a grid, a random sample or a Bayesian search",
        description="Fixed settings are the flags of `train`; each --grid/--param varies one. "
        + "; ".join(f"{method}: {what}" for method, what in METHODS.items())
        + ".",
    )
    parser.add_argument(
        "--engine", choices=list(ENGINES), help=f"the engine (default {DEFAULT_ENGINE})"
    )
    parser.add_argument("--config", help="JSON file of fixed settings (e.g. a run's config.json)")
    add_settings_flags(parser, all_engines())
    varied = parser.add_argument_group("what varies")
    varied.add_argument(
        "--grid",
        "--param",
        dest="parameters",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a setting to vary: values (learning_rate=0.0001,0.001,0.01) or, with --random "
        "or --bayes, a range (learning_rate=log:1e-4:1e-1, hidden_units=int:16:256)",
    )
    method = varied.add_mutually_exclusive_group()
    method.add_argument("--random", type=int, metavar="N", help="N points drawn at random")
    method.add_argument("--bayes", type=int, metavar="N", help="N points chosen by Optuna's TPE")
    varied.add_argument("--repeats", type=int, default=1, help="runs per point, seeds +0, +1...")
    varied.add_argument("--sampler-seed", type=int, default=0, help="seeds --random and --bayes")
    where = parser.add_argument_group("where and how")
    where.add_argument(
        "--parallel",
        type=int,
        help="trials training at once (default: 1 here, one per CPU on a cluster)",
    )
    where.add_argument(
        "--cluster",
        help=f"a Ray cluster's HOST:PORT (default ${CLUSTER_ENV}; none: this machine)",
    )
    where.add_argument(
        "--median-stop",
        action="store_true",
        help="stop a trial whose validation accuracy falls below the others' median",
    )
    parser.add_argument("--name", help="the sweep's name (its trials' names start with it)")
    parser.add_argument(
        "--again", action="store_true", help="launch even if the same sweep began seconds ago"
    )
    parser.add_argument(
        "--resume",
        metavar="SWEEP_ID",
        help="drive a stored sweep whose driver was stopped: its launched trials are kept, "
        "the others launched (give no other flag)",
    )
    parser.set_defaults(handler=cmd_sweep)


def sweep_definition(args: argparse.Namespace) -> SweepDefinition:
    """The validated definition the ``sweep`` flags describe.

    Raises
    ------
    ValueError
        If a flag is wrong, a parameter cannot be read, or a fixed flag is also varied.
    """
    engine, values = requested_values(args)
    declared = engine.settings_class.declared()
    parameters = [parse_parameter(text, declared) for text in args.parameters]
    varied = {parameter.name for parameter in parameters}
    flagged = sorted(name for name in varied if getattr(args, name, None) is not None)
    if flagged:
        raise ValueError(f"{', '.join(flagged)}: give a setting as a flag or vary it, not both")
    # A config file's value of a varied setting is replaced by the sweep's.
    base = {k: v for k, v in values.items() if k not in METADATA_KEYS and k not in varied}
    method = "random" if args.random is not None else "bayes" if args.bayes is not None else "grid"
    definition = SweepDefinition(
        engine=engine.name,
        base=base,
        parameters=parameters,
        method=method,
        count=next((n for n in (args.random, args.bayes) if n is not None), 0),
        repeats=args.repeats,
        parallel=args.parallel,
        median_stop=args.median_stop,
        cluster=args.cluster,
        name=args.name or "",
        seed=args.sampler_seed,
    )
    return definition.validate()


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep in the foreground, then print its trials sorted by test accuracy.

    Returns 0 when every trial ended (Ctrl-C cancels: the live trials stop and keep what
    they learned), 1 when it was cancelled or failed.
    """
    store = RunStore()
    if args.resume is not None:
        sweep = resumed_sweep(args, store)
        definition = sweep.definition()
        executor = sweep_executor(definition, store)
    else:
        definition = sweep_definition(args)
        # Connect first: an unreachable cluster is a message, and leaves no sweep behind.
        executor = sweep_executor(definition, store)
        try:
            sweep = SweepStore(store).create(definition, again=args.again)
        except RepeatedLaunchError as error:
            raise ValueError(f"{error} Add --again to launch it again.") from None
    print(
        f"Sweep {sweep.id}: {definition.trial_count()} trials ({definition.method}), "
        f"{trials_at_once(definition, executor)} at a time on {executor.where}. "
        "Ctrl-C cancels it.",
        flush=True,
    )
    state = run_sweep(sweep, executor, report=lambda line: print(line, flush=True))
    print(results_text(trial_rows(sweep), [p.name for p in definition.parameters]))
    print(f"Sweep {state}: {sweep.state()['message']} Its runs are in {sweep.run_store.root}.")
    return 0 if state == "finished" else 1


def resumed_sweep(args: argparse.Namespace, store: RunStore) -> Sweep:
    """The stored sweep ``--resume`` names.

    Raises
    ------
    ValueError
        If other flags describe a new sweep too, or there is no such sweep.
    """
    if args.parameters or args.random is not None or args.bayes is not None:
        raise ValueError("--resume drives a stored sweep as it was defined: give it alone")
    try:
        return SweepStore(store).get(args.resume)
    except KeyError as error:
        raise ValueError(error.args[0]) from None
