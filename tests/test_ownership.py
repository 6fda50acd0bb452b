"""Ownership: runs record who launched them; a student manages only their own, the teacher all."""

import collections
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_evaluate_page import NETWORK_CONFIG, runs  # noqa: F401 (fixture)

from mnist_lab import ownership
from mnist_lab.ownership import TEACHER_KEY_ENV, key_matches, may_manage, refusal
from mnist_lab.processes import process_start_time
from mnist_lab.runs import CONFIG_FILE, RunStore

COMPARE = Path(__file__).resolve().parents[1] / "pages" / "compare.py"
TEACHER_KEY = "owl-42"


def owned_by(run, owner):
    run.write_json(CONFIG_FILE, dict(run.config(), owner=owner))
    return run


def test_create_records_the_owner_and_refuses_a_bad_name_leaving_nothing(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(NETWORK_CONFIG, owner="  Ada ")
    assert run.config()["owner"] == "Ada" and run.owner == "Ada"
    assert store.create(NETWORK_CONFIG).owner is None
    with pytest.raises(ValueError, match="at most 40 characters"):
        store.create(NETWORK_CONFIG, owner="x" * 41)
    with pytest.raises(ValueError, match="printable"):
        store.create(NETWORK_CONFIG, owner="Ada\nBob")
    assert len(store.list()) == 2


def test_only_the_owner_or_the_teacher_may_manage(tmp_path):
    store = RunStore(tmp_path)
    ada, nobody = store.create(NETWORK_CONFIG, owner="Ada"), store.create(NETWORK_CONFIG)
    assert may_manage(ada, "Ada", teacher=False)
    assert not may_manage(ada, "Bob", teacher=False)
    assert not may_manage(ada, None, teacher=False)
    assert not may_manage(nobody, "Bob", teacher=False)
    assert may_manage(nobody, None, teacher=True) and may_manage(ada, "Bob", teacher=True)
    assert (
        refusal(ada, "delete") == "This is Ada's run: only its owner or the teacher can delete it."
    )
    assert "a run nobody owns" in refusal(nobody, "stop")
    assert key_matches(f" {TEACHER_KEY} ", TEACHER_KEY) and not key_matches("owl", TEACHER_KEY)


def session(name: str | None, teacher: bool = False) -> AppTest:
    """One browser session on the Compare page, signed in as ``name``."""
    app = AppTest.from_file(str(COMPARE), default_timeout=60)
    if name is not None:
        app.session_state["identity_name"] = name
    app.session_state["identity_teacher"] = teacher
    return app.run()


def try_rename_and_delete(app: AppTest, run_id: str) -> list[str]:
    """Rename, then delete ``run_id`` as this session; the errors shown after each."""
    app.selectbox(key="compare_manage").set_value(run_id)
    app.text_input(key="compare_new_name").set_value("mine now")
    app.button(key="compare_rename").click().run()
    errors = [error.value for error in app.error]
    app.checkbox(key="compare_confirm_delete").check().run()
    app.button(key="compare_delete").click().run()
    return errors + [error.value for error in app.error]


def test_a_student_cannot_rename_or_delete_another_students_run_the_teacher_can(
    runs,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setenv(TEACHER_KEY_ENV, TEACHER_KEY)
    _, network, _ = runs
    owned_by(network, "Ada")

    bob = session("Bob")
    assert try_rename_and_delete(bob, network.id) == [
        "This is Ada's run: only its owner or the teacher can rename it.",
        "This is Ada's run: only its owner or the teacher can delete it.",
    ]
    assert not bob.exception
    assert network.path.exists() and network.name == "My <b>net</b>"

    teacher = session("Ms Lovelace", teacher=True)
    assert try_rename_and_delete(teacher, network.id) == []
    assert not teacher.exception
    assert not network.path.exists()


def test_the_owner_manages_their_run_and_without_a_key_everyone_does(runs, monkeypatch):  # noqa: F811
    _, network, baseline = runs
    owned_by(network, "Ada")
    monkeypatch.setenv(TEACHER_KEY_ENV, TEACHER_KEY)
    ada = session("Ada")
    ada.selectbox(key="compare_manage").set_value(network.id)
    ada.text_input(key="compare_new_name").set_value("Ada's MLP")
    ada.button(key="compare_rename").click().run()
    assert not ada.error and network.name == "Ada's MLP"

    monkeypatch.delenv(TEACHER_KEY_ENV)
    laptop = session(None)
    assert try_rename_and_delete(laptop, baseline.id) == []
    assert not laptop.exception
    assert not baseline.path.exists()


def live_panel(run_dir: str) -> None:
    from dashboard.ui.train.training_view import live_run_panel
    from mnist_lab.runs import Run

    live_run_panel(Run(run_dir))


def test_only_the_owner_sees_stop_on_a_live_run(tmp_path, monkeypatch):
    monkeypatch.setenv(TEACHER_KEY_ENV, TEACHER_KEY)
    run = RunStore(tmp_path).create(NETWORK_CONFIG, owner="Ada")
    pid = os.getpid()
    run.update_status(state="running", pid=pid, pid_start=process_start_time(pid))
    seen = {}
    for name in ("Ada", "Bob"):
        app = AppTest.from_function(live_panel, args=(str(run.path),), default_timeout=30)
        app.session_state["identity_name"] = name
        seen[name] = app.run()
        assert not seen[name].exception
    assert [button.label for button in seen["Ada"].button] == ["Stop"]
    assert not seen["Bob"].button
    assert "only its owner or the teacher can stop it" in seen["Bob"].caption[0].value


def sidebar() -> None:
    from dashboard.ui.app.identity import identity_sidebar

    identity_sidebar()


def test_wrong_teacher_keys_are_limited_per_minute_for_the_whole_server(monkeypatch):
    monkeypatch.setattr(ownership, "_wrong_keys", collections.deque())
    for second in range(ownership.MAX_WRONG_KEYS_PER_MINUTE):
        assert not ownership.try_teacher_key("guess", TEACHER_KEY, now=100.0 + second)
    with pytest.raises(ownership.TooManyWrongKeys, match="try again in 51 s"):
        ownership.try_teacher_key(TEACHER_KEY, TEACHER_KEY, now=109.0)
    assert ownership.try_teacher_key(TEACHER_KEY, TEACHER_KEY, now=160.5), "a minute later"


def test_a_teacher_session_is_a_token_for_one_key_until_it_expires_or_is_closed():
    sessions = ownership.TeacherSessions()
    token = sessions.open(TEACHER_KEY, now=0.0)
    assert TEACHER_KEY not in token and len(token) >= 40
    assert sessions.valid(token, TEACHER_KEY, now=60.0)
    assert not sessions.valid(token, "another key", now=60.0), "a new key ends every session"
    assert not sessions.valid(token, TEACHER_KEY, now=ownership.TEACHER_SESSION_S + 1.0)
    assert not sessions.valid("guessed", TEACHER_KEY, now=60.0)
    sessions.close(token)
    assert not sessions.valid(token, TEACHER_KEY, now=60.0)


def test_the_sidebar_says_when_too_many_keys_were_wrong(monkeypatch):
    monkeypatch.setenv(TEACHER_KEY_ENV, TEACHER_KEY)
    monkeypatch.setattr(ownership, "_wrong_keys", collections.deque())
    app = AppTest.from_function(sidebar, default_timeout=30).run()
    for _ in range(ownership.MAX_WRONG_KEYS_PER_MINUTE + 1):
        app.text_input(key="identity_key_input").set_value("guess")
        app.button(key="identity_unlock").click().run()
    assert app.error[0].value.startswith("Too many wrong teacher keys")
    assert "Teacher: you can manage every run." not in [c.value for c in app.sidebar.caption]


def test_the_sidebar_takes_a_name_once_keeps_it_in_the_url_and_unlocks_the_teacher(monkeypatch):
    monkeypatch.setenv(TEACHER_KEY_ENV, TEACHER_KEY)
    app = AppTest.from_function(sidebar, default_timeout=30).run()
    app.text_input(key="identity_name_input").set_value("**Ada**")
    app.button[0].click().run()
    assert app.session_state["identity_name"] == "**Ada**"
    assert app.query_params["student"] == "**Ada**"
    assert app.sidebar.caption[0].value == r"Signed in as **\*\*Ada\*\***"
    assert [box.key for box in app.text_input] == ["identity_key_input"], "asked only once"

    app.text_input(key="identity_key_input").set_value("owl")
    app.button(key="identity_unlock").click().run()
    assert app.error[0].value == "That is not the teacher key."
    app.text_input(key="identity_key_input").set_value(TEACHER_KEY)
    app.button(key="identity_unlock").click().run()
    assert app.session_state["identity_teacher"] and not app.error
    assert app.sidebar.caption[1].value == "Teacher: you can manage every run."

    app.button(key="identity_change_name").click().run()
    assert "identity_name" not in app.session_state and "student" not in app.query_params
    app.text_input(key="identity_name_input").set_value("Ada L.")
    app.button[0].click().run()
    assert app.session_state["identity_name"] == "Ada L." == app.query_params["student"]

    refreshed = AppTest.from_function(sidebar, default_timeout=30)
    refreshed.query_params["student"] = "Ada"
    refreshed.run()
    assert (
        refreshed.session_state["identity_name"] == "Ada"
        and not refreshed.text_input(key="identity_key_input").value
    )
