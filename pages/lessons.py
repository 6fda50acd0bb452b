"""Lessons: guided experiments, one click to train a few small runs and read what happened."""

import streamlit as st

from dashboard.ui.app.identity import NAME_FIRST, current_owner, name_missing
from dashboard.ui.app.pages import PAGE, page_link
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.lessons.figures import comparison_figure
from dashboard.ui.lessons.held_out_view import held_out_lesson
from dashboard.ui.lessons.lessons_view import finished_lesson_results, lesson_runs_panel
from mnist_lab.lessons import held_out
from mnist_lab.lessons.catalogue import LESSONS
from mnist_lab.lessons.runner import explain, lesson_runs, lesson_state, start_lesson
from mnist_lab.runs import RunStore

# The lesson on the held-out score, listed after the catalogue's lessons.
HELD_OUT = "held-out"

st.title(PAGE["lessons"].title)
st.caption(
    "Each lesson trains a few small runs side by side (about a minute in all) and explains "
    "the result from their numbers. The runs are ordinary runs: open them on Compare too."
)
store = RunStore()
lesson_id = st.selectbox(
    "Lesson",
    [*LESSONS, HELD_OUT],
    format_func=lambda key: LESSONS[key].title if key in LESSONS else held_out.TITLE,
    key="lessons_pick",
)
if lesson_id == HELD_OUT:
    # Computed on the spot from the test split and the lab's finished runs: nothing to train.
    held_out_lesson(store)
    st.stop()
lesson = LESSONS[lesson_id]
runs = lesson_runs(store, lesson)
state = lesson_state(runs, lesson)

st.markdown(f"**The experiment:** {lesson.question}")
st.markdown(f"**What to expect:** {lesson.expect}")
st.caption("Runs: " + " · ".join(run.name for run in lesson.runs))
label = "Run this lesson" if state == "new" else "Run it again"
if name_missing():
    st.caption(NAME_FIRST)
if st.button(
    label,
    type="primary",
    icon=":material/play_arrow:",
    disabled=state == "running" or name_missing(),
    key="lessons_start",
):
    try:
        start_lesson(store, lesson, owner=current_owner())
    except ValueError as error:
        st.error(f"Cannot start the lesson: {error}")
        st.stop()
    st.rerun()
if state == "new":
    st.info("Not run yet: press the button. The runs queue and train one after another.")
    st.stop()

lesson_runs_panel(lesson, runs)
if state == "done":
    results = finished_lesson_results(lesson, runs)
    explanation = explain(lesson, results)
    (st.success if explanation.as_expected else st.warning)(explanation.verdict)
    for paragraph in explanation.details:
        st.write(paragraph)
    for scored_on in dict.fromkeys(result.scored_on for result in results.values()):
        if scored_on is not None:
            # Plain text: it names the assignments, whose titles are the teacher's.
            st.caption(plain_markdown(scored_on))
    st.plotly_chart(comparison_figure(lesson, results), key="lessons_comparison")
    page_link("compare", "Compare these runs in detail")
