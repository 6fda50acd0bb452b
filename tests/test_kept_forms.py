"""`mnist_lab.kept_forms`: a browser's form values beside the runs, checked when read back."""

import os

import pytest

from mnist_lab import kept_forms

TOKEN = "b" * 43


def test_values_are_read_back_as_written_and_the_token_is_not_on_disk(tmp_path):
    assert kept_forms.read_form(tmp_path, TOKEN) == {}
    values = {"train_engine": "keras", "layers": [{"type": "Dense", "units": 32}], "x": None}
    kept_forms.write_form(tmp_path, TOKEN, values)
    assert kept_forms.read_form(tmp_path, TOKEN) == values
    assert kept_forms.read_form(tmp_path, "c" * 43) == {}
    (path,) = (tmp_path / kept_forms.FORMS_DIR).iterdir()
    assert TOKEN not in path.name and TOKEN not in path.read_text()


@pytest.mark.parametrize(
    "text",
    [
        "{truncated",
        '{"version": 2, "values": {}}',
        '{"version": 1, "values": []}',
        '{"version": 1, "values": {"epochs": 1e999}}',
        '{"version": 1, "values": {"": 1}}',
        "[]",
    ],
)
def test_a_damaged_file_reads_as_no_values(tmp_path, text):
    kept_forms.write_form(tmp_path, TOKEN, {"a": 1})
    kept_forms.form_file(tmp_path, TOKEN).write_text(text)
    assert kept_forms.read_form(tmp_path, TOKEN) == {}


def test_a_link_or_an_oversized_file_reads_as_no_values(tmp_path):
    kept_forms.write_form(tmp_path, TOKEN, {"a": 1})
    path = kept_forms.form_file(tmp_path, TOKEN)
    path.write_text('{"version": 1, "values": {"a": "' + "x" * kept_forms.MAX_FORM_BYTES + '"}}')
    assert kept_forms.read_form(tmp_path, TOKEN) == {}
    path.unlink()
    secret = tmp_path / "secret.json"
    secret.write_text('{"version": 1, "values": {"a": 1}}')
    path.symlink_to(secret)
    assert kept_forms.read_form(tmp_path, TOKEN) == {}


def test_bad_tokens_and_values_are_refused(tmp_path):
    for token in ("short", "../" + "a" * 30, "a" * 200, "ä" * 30):
        with pytest.raises(ValueError, match="token"):
            kept_forms.write_form(tmp_path, token, {})
        assert kept_forms.read_form(tmp_path, token) == {}
    with pytest.raises(ValueError, match="more than"):
        kept_forms.write_form(tmp_path, TOKEN, {"a": ["x" * 900] * 100})
    with pytest.raises(ValueError):
        kept_forms.write_form(tmp_path, TOKEN, {"a": float("nan")})


def test_beyond_the_bound_the_oldest_browsers_are_forgotten(tmp_path, monkeypatch):
    monkeypatch.setattr(kept_forms, "MAX_KEPT_FORMS", 3)
    tokens = [letter * 30 for letter in "defgh"]
    for age, token in enumerate(tokens):
        kept_forms.write_form(tmp_path, token, {"n": age})
        path = kept_forms.form_file(tmp_path, token)
        os.utime(path, (1000 + age, 1000 + age))
    assert [kept_forms.read_form(tmp_path, t) for t in tokens] == [
        {},
        {},
        {"n": 2},
        {"n": 3},
        {"n": 4},
    ]
