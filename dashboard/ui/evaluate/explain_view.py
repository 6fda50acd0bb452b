"""Why a model read one digit as it did, and the smallest change that makes it read another.

The Playground (a drawn, uploaded or test digit) and the Evaluate page (any test digit) call
`explain_digit`. The library computes (`mnist_lab.explain`); this module picks, caches per
run, model save time, digit and choice, and draws. Run names are user text: they appear only
in select boxes and dataframes (plain text) or escaped in figures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import streamlit as st

from dashboard.ui.app.dataset_cache import run_dataset
from dashboard.ui.app.figures.style import signed_words
from dashboard.ui.app.run_cache import model_of
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.evaluate.figures.explain import adversarial_figure
from dashboard.ui.evaluate.shared_figures import cached_saliency_figure
from mnist_lab.datasets import class_names_of, recorded_dataset
from mnist_lab.engines import engine_of
from mnist_lab.explain import adversarial
from mnist_lab.explain.saliency import METHODS, Saliency, available_methods, saliency
from mnist_lab.runs import Run

# Other models an adversarial digit is shown to: each may load a Keras model.
MAX_TRANSFER_RUNS = 6
# The choice "whatever the model predicts": a number, since a select box shows None as empty.
FOLLOW_MODEL = -1


def has_saved_model(run: Run) -> bool:
    """Whether the run saved a model this lab can ask (damage and unknown engines: no)."""
    try:
        return engine_of(run).has_model(run)
    except ValueError:
        return False


def model_saved_at(run: Run) -> float:
    """The model file's modification time: a cache key that changes when the model does."""
    return engine_of(run).model_file(run).stat().st_mtime


@st.cache_data(max_entries=256, show_spinner=False)
def cached_probabilities(run_dir: str, saved_at: float, digit: np.ndarray, _model) -> np.ndarray:
    """The run's ten probabilities for one digit, computed once for every session."""
    run = Run(run_dir)
    return engine_of(run).predict_proba(run, digit, model=_model)[0]


@st.cache_data(max_entries=64, show_spinner=False)
def cached_saliency(
    run_dir: str, saved_at: float, digit: np.ndarray, class_index: int, method: str, _model
) -> Saliency:
    """`mnist_lab.explain.saliency.saliency`, cached per run, model, digit, class and method."""
    return saliency(Run(run_dir), digit, class_index, method, model=_model)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_attack(
    run_dir: str, saved_at: float, digit: np.ndarray, target: int, _model
) -> adversarial.Attack:
    """`mnist_lab.explain.adversarial.smallest_attack`, cached per run, model, digit, target."""
    return adversarial.smallest_attack(Run(run_dir), digit, target, model=_model)


def input_key(key: str, run: Run, saved_at: float, digit: np.ndarray) -> str:
    """``key`` made unique to one model and one digit.

    The choices below name the digit's prediction and probabilities: a select box kept across
    digits would show the last digit's text, or an empty choice, so each digit gets its own.
    """
    digest = hashlib.sha1(np.ascontiguousarray(digit).tobytes())
    digest.update(f"{run.id}:{saved_at}".encode())
    return f"{key}_{digest.hexdigest()[:12]}"


def choose_run(runs: Sequence[Run], key: str) -> Run:
    """A select box of ``runs`` (one or more) by name, the first by default."""
    by_id = {run.id: run for run in runs}
    chosen = st.selectbox(
        "Model to explain", list(by_id), format_func=lambda run_id: by_id[run_id].name, key=key
    )
    return by_id[chosen]


def explain_test_digit(run: Run, others: Sequence[Run], suggested: int, key: str) -> None:
    """`explain_digit` for any test digit, ``suggested`` (e.g. the gallery's first) at first.

    Parameters
    ----------
    run : Run
        The run to explain; without a saved model, says so.
    others : sequence of Run
        Runs with models to try its adversarial digits on.
    suggested : int
        The test index shown first.
    key : str
        Widget key prefix.
    """
    if not has_saved_model(run):
        st.info("This run saved no model, so its reasons cannot be asked.")
        return
    # The test images of the data this run learnt.
    dataset = run_dataset(run)
    index = st.number_input(
        "Test digit to explain (its index)",
        0,
        len(dataset.x_test) - 1,
        value=int(suggested),
        key=f"{key}_index",
    )
    label = plain_markdown(dataset.class_names[dataset.y_test[index]])
    st.caption(f"Test digit #{index}, labelled {label}.")
    explain_digit(dataset.x_test[index], run, others, key)


def explain_digit(digit: np.ndarray, run: Run, others: Sequence[Run], key: str) -> None:
    """Saliency of one digit by ``run``, then, on request, an adversarial digit.

    Parameters
    ----------
    digit : numpy.ndarray
        28x28 uint8, white ink on black, as the models see it.
    run : Run
        A run with a saved model.
    others : sequence of Run
        Runs with saved models to show the adversarial digit to (``run`` is skipped).
    key : str
        Widget key prefix (the page's name and a word, e.g. ``"playground_why"``).
    """
    engine, model = engine_of(run), model_of(run)
    names = class_names_of(run)
    probabilities = cached_probabilities(str(run.path), model_saved_at(run), digit, model)
    predicted = int(probabilities.argmax())
    this_input = input_key(key, run, model_saved_at(run), digit)
    left, right = st.columns(2)
    chosen = left.selectbox(
        "Explain the score of",
        [FOLLOW_MODEL, *range(len(probabilities))],
        format_func=lambda d: (
            f"its prediction, {names[predicted]} ({probabilities[predicted]:.1%})"
            if d == FOLLOW_MODEL
            else f"{names[d]} ({probabilities[d]:.1%})"
        ),
        key=f"{this_input}_class",
    )
    class_index = predicted if chosen == FOLLOW_MODEL else int(chosen)
    methods = available_methods(engine)
    method = (
        right.segmented_control(
            "Method",
            methods,
            format_func=lambda name: METHODS[name].title,
            default=methods[0],
            key=f"{key}_method",
        )
        or methods[0]
    )
    with st.spinner("Working out which pixels mattered..."):
        result = cached_saliency(
            str(run.path), model_saved_at(run), digit, class_index, method, model
        )
    left, right = st.columns([3, 2])
    figure = cached_saliency_figure(
        str(run.path), model_saved_at(run), digit, class_index, method, result.attribution
    )
    left.plotly_chart(figure, key=f"{key}_saliency")
    shown = plain_markdown(names[class_index])
    right.markdown(f"**{METHODS[method].title}** of the score of **{shown}**")
    right.write(result.reading)
    right.caption(
        f"The model gives {shown} a probability of {result.probability:.1%}: "
        f"{signed_words(f'the score of {shown}')}. The black line outlines the digit's ink."
    )
    if engine.differentiable:
        _adversarial_part(digit, run, probabilities, others, key, this_input, names)


def _adversarial_part(
    digit: np.ndarray,
    run: Run,
    probabilities: np.ndarray,
    others: Sequence[Run],
    key: str,
    this_input: str,
    names: Sequence[str],
) -> None:
    """The adversarial digit, made on request for a chosen target, and its transfer."""
    if not st.toggle(
        "Find the smallest change that makes it read another digit",
        key=f"{key}_attack",
        help="An adversarial digit: every pixel moves a little, each the way that helps the "
        "chosen digit most (iterated fast gradient sign method).",
    ):
        return
    predicted = int(probabilities.argmax())
    runner_up = int(np.argsort(probabilities)[-2])
    chosen = st.selectbox(
        "Make it read as",
        [FOLLOW_MODEL, *(d for d in range(len(probabilities)) if d != predicted)],
        format_func=lambda d: (
            f"its second guess, {names[runner_up]}" if d == FOLLOW_MODEL else names[d]
        ),
        key=f"{this_input}_target",
    )
    target = runner_up if chosen == FOLLOW_MODEL else int(chosen)
    target_name = plain_markdown(names[target])
    with st.spinner(f"Searching for the smallest change that reads as {target_name}..."):
        attack = cached_attack(str(run.path), model_saved_at(run), digit, target, model_of(run))
    st.plotly_chart(adversarial_figure(attack), key=f"{key}_adversarial")
    changed = (
        f"each pixel moved by at most {attack.max_change:.0f} grey levels of 255 "
        f"({attack.changed_pixels} pixels changed visibly, Euclidean size {attack.l2:.0f})"
    )
    if attack.success:
        st.write(
            f"It now reads a {target_name} ({attack.probabilities_after[target]:.0%}): {changed}. "
            "Red pixels got more ink, blue ones less."
        )
    else:
        st.warning(
            f"Even with {changed}, it still reads a "
            f"{plain_markdown(names[attack.prediction_after])}, not a {target_name}."
        )
    # Only models of the same classes can be fooled into reading the same one.
    same_data = recorded_dataset(run.config())
    others = [
        other for other in others if other != run and recorded_dataset(other.config()) == same_data
    ][:MAX_TRANSFER_RUNS]
    if not others:
        st.caption("Choose more models above to see whether the change fools them too.")
        return
    transfers = adversarial.transfer(attack, others, [model_of(other) for other in others])
    st.markdown("**Does the change fool the other models?**")
    st.dataframe(
        [
            {
                "Model": t.run.name,
                "Reads the original as": names[t.prediction_before],
                "Reads the changed digit as": names[t.prediction_after],
                f"Probability of {target}": t.target_probability,
                "Fooled": "yes" if t.fooled else "no",
            }
            for t in transfers
        ],
        column_config={f"Probability of {target}": st.column_config.NumberColumn(format="percent")},
        hide_index=True,
        key=f"{key}_transfer",
    )
