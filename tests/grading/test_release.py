"""The release step: solution blocks become NotImplementedError, and bad markers are refused."""
import ast

import pytest

from course.grading.release import ReleaseError, check_release, strip_solutions

EXERCISE = '''\
def outer(x):
    """Spec."""
    # BEGIN SOLUTION
    y = x + 1
    return y
    # END SOLUTION


class Holder:
    def method(self):
        """Spec."""
        # BEGIN SOLUTION
        return 2
        # END SOLUTION
'''


def test_solution_blocks_become_not_implemented_with_the_function_name():
    stripped = strip_solutions(EXERCISE, "ex07")
    ast.parse(stripped)
    assert 'raise NotImplementedError("ex07: outer")' in stripped
    assert '        raise NotImplementedError("ex07: method")' in stripped  # the marker's indentation
    assert "x + 1" not in stripped and "return 2" not in stripped
    assert '"""Spec."""' in stripped


@pytest.mark.parametrize("broken", [
    "def f():\n    # BEGIN SOLUTION\n    return 1\n",                           # never closed
    "def f():\n    return 1\n    # END SOLUTION\n",                            # no BEGIN
    "# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n",                               # outside any function
    "def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n",  # nested
])
def test_unbalanced_markers_are_refused(broken):
    with pytest.raises(ReleaseError):
        strip_solutions(broken, "ex01")


def test_check_release_finds_a_leftover_solution_or_mutant(tmp_path):
    (tmp_path / "ok.py").write_text('MARKER = "# BEGIN SOLUTION"  # a string, not a marker line\n')
    check_release(tmp_path)
    (tmp_path / "leak.py").write_text("def f():\n    # BEGIN SOLUTION\n    return 1\n")
    with pytest.raises(ReleaseError, match="still contains a solution"):
        check_release(tmp_path)
    (tmp_path / "leak.py").unlink()
    (tmp_path / "tests" / "mutants").mkdir(parents=True)
    with pytest.raises(ReleaseError, match="mutants"):
        check_release(tmp_path)


def test_release_refuses_a_non_empty_folder_without_force(tmp_path):
    from course.grading.release import release

    (tmp_path / "something").write_text("")
    with pytest.raises(ValueError, match="not empty"):
        release(tmp_path)
