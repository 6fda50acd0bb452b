"""Guided experiments: one click trains a few small runs side by side, then the numbers explain.

Each lesson asks a question students meet in their first notebooks ("why is my network stuck
at 10%?"), names the runs that answer it, and says what to expect. The runs are ordinary runs
(they show up on Evaluate and Compare); each carries a ``lesson.json`` tag naming its lesson
and step, so reopening the page finds the last results. The explanations read the runs' own
numbers (test accuracy, final training and validation metrics, gradient flow) and say what
happened.

Settings are small on purpose: subsets of a few thousand digits and a few epochs, so a whole
lesson takes about a minute on a laptop CPU; ``tests/test_lessons.py`` checks that each one
still shows its effect.

`catalogue` holds the lessons (`Lesson`, `LESSONS`, `get_lesson`); `results` the numbers of a
run the explanations read (`RunResult`) and what they conclude (`Explanation`);
`explanations` the seven explainers; `measures` what two lessons measure on the trained
models; `runner` starts a lesson and reads its runs back (`start_lesson`, `lesson_runs`,
`lesson_state`, `lesson_results`, `explain`).
"""
