"""Finding lessons and exercises by any name a student would type, with a "did you mean"."""
import pytest

from course.__main__ import main
from course.runtime.syllabus import LessonNotFound, exercise_key, find_lesson


@pytest.mark.parametrize("key", ["4", "04", "ex4", "ex04", "EX04", "convolution", "04_convolution",
                                 "lessons/04_convolution.py"])
def test_a_lesson_is_found_by_number_slug_file_or_exercise_name(key):
    assert find_lesson(key).stem == "04_convolution"


@pytest.mark.parametrize("typo, meant", [("convolutoin", "convolution"), ("weight_bandng", "weight_banding"),
                                         ("folding", "folding_space")])
def test_a_misspelt_lesson_gets_a_did_you_mean(typo, meant):
    with pytest.raises(LessonNotFound, match=f"did you mean '{meant}'"):
        find_lesson(typo)


def test_did_you_mean_reaches_the_command_line_in_one_line(capsys):
    assert main(["run", "convolutoin"]) == 2
    err = capsys.readouterr().err
    assert "unknown lesson 'convolutoin'; did you mean 'convolution'?" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name, key", [("ex4", "ex04"), ("EX04", "ex04"), ("4", "ex04"), ("convolution", "ex04"),
                                       ("ex10", "ex10"), ("ex04_convolution", "ex04_convolution"), ("exx", "exx")])
def test_exercise_names_are_normalised_for_the_grader(name, key):
    assert exercise_key(name) == key
