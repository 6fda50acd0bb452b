"""Assignments: a teacher's challenge, and every student's finished runs checked against it.

``store.py`` owns the file format (``<runs>/.assignments/<id>/``), ``constraints.py`` says what
a run may do (through the settings' own declarations), ``heldout.py`` cuts the test split into
a visible and a hidden part, ``grading.py`` checks runs from what the lab recorded and freezes
the grades at the deadline, ``templates.py`` holds the ready-made assignments of the lessons.
"""
