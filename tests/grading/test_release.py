"""The release step: solution blocks become NotImplementedError, and bad markers are refused."""
import ast
import importlib
import os
import subprocess
import sys
import types

import pytest
import torch

from course import CHECKOUT_ROOT
from course.grading.release import (MIN_NODES, ReleaseError, check_release, find_known_answers, known_answers,
                                    node_count, release, strip_solutions)

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
    (tmp_path / "something").write_text("")
    with pytest.raises(ValueError, match="not empty"):
        release(tmp_path)


# --------------------------------------------------------------------------------------
# Library code: RELEASE lines replace the block
# --------------------------------------------------------------------------------------
LIBRARY = '''\
import torch


def add_one(x):
    """Spec."""
    check(x)
    # BEGIN SOLUTION
    y = x + 1
    return y
    # END SOLUTION
    # RELEASE: return torch.add(x, 1,
    # RELEASE:                  alpha=1)


# BEGIN SOLUTION
def _helper_only_the_solution_uses():
    return 3
# END SOLUTION


# BEGIN SOLUTION
# END SOLUTION
# RELEASE: def _helper_only_the_student_copy_uses():
# RELEASE:     return 4
'''


def test_library_blocks_become_their_release_lines():
    stripped = strip_solutions(LIBRARY, None)
    ast.parse(stripped)
    assert "    check(x)\n    return torch.add(x, 1,\n                     alpha=1)\n" in stripped
    assert "x + 1" not in stripped and "_helper_only_the_solution_uses" not in stripped
    assert "def _helper_only_the_student_copy_uses():\n    return 4\n" in stripped
    assert "RELEASE" not in stripped and "SOLUTION" not in stripped


@pytest.mark.parametrize("broken, exercise", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", None),          # library block, no RELEASE
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n    # RELEASE: return 2\n", "ex01"),
    ("def f():\n    return 1\n    # RELEASE: return 2\n", None),                           # RELEASE without a block
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n  # RELEASE: return 2\n", None),  # indentation
])
def test_release_lines_in_the_wrong_place_are_refused(broken, exercise):
    with pytest.raises(ReleaseError):
        strip_solutions(broken, exercise)


# --------------------------------------------------------------------------------------
# Known answers: a copy of a solution block is found, renamed or not
# --------------------------------------------------------------------------------------

def test_a_renamed_copy_of_a_solution_is_a_known_answer(tmp_path):
    copy = '''\
def helper(signal, taps):
    """Looks innocent."""
    count = signal.shape[0] - taps.shape[0] + 1
    out = signal.new_zeros(count)
    for t in range(taps.shape[0]):
        out += taps[t] * signal[t:t + count]
    return out
'''
    (tmp_path / "innocent.py").write_text(copy)
    with pytest.raises(ReleaseError, match=r"innocent.py:3 holds the solution of .*ex04_convolution.py.*xcorr1d"):
        check_release(tmp_path)


def test_a_different_computation_is_not_a_known_answer(tmp_path):
    (tmp_path / "fine.py").write_text("import torch.nn.functional as F\n\n\ndef xcorr(x, w):\n"
                                      "    return F.conv1d(x[None, None], w[None, None])[0, 0]\n")
    check_release(tmp_path)
    assert find_known_answers(tmp_path, known_answers()) == []


def test_every_exercise_function_has_a_fingerprint_or_is_its_docstring_sentence():
    fingerprinted = {answer.function for answers in known_answers().values() for answer in answers}
    for path in sorted((CHECKOUT_ROOT / "course" / "exercises").glob("ex*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                body = [s for s in node.body[1:]]  # after the docstring
                if node_count(body) >= MIN_NODES:
                    assert f"{path.stem}.{node.name}" in fingerprinted


# --------------------------------------------------------------------------------------
# The released library: the same numbers as the instructor's, on the student's code or on torch
# --------------------------------------------------------------------------------------

def released_module(relative: str):
    """The student copy's version of a library module of this checkout, imported under a name of its own."""
    path = CHECKOUT_ROOT / relative
    name = "released_" + relative.replace("/", "_").removesuffix(".py")
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(strip_solutions(path.read_text(), None, relative), relative, "exec"), module.__dict__)
    return module


def f64(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def pieces(n, seed):
    return [f64(2, 2, seed=seed + i) for i in range(n)], [f64(2, seed=seed + 10 + i) for i in range(n)]


# (library module, function, arguments, the exercise function the student copy calls first, if any)
CASES = [
    ("course/chapters/convolution.py", "conv_output_size", (40, 5, 3, 2, 2), "ex04_convolution.conv_output_size"),
    ("course/chapters/convolution.py", "cross_correlate1d", (f64(30), f64(4, seed=1), 2, 3, 2), None),
    ("course/chapters/convolution.py", "convolve1d", (f64(30), f64(4, seed=1), 1, 1, 3), None),
    ("course/chapters/convolution.py", "unfold2d", (f64(2, 3, 7, 9), (3, 2), (2, 1), (1, 0), (1, 2)),
     "ex04_convolution.im2col"),
    ("course/chapters/convolution.py", "cross_correlate2d", (f64(2, 3, 7, 9), f64(4, 3, 3, 2, seed=1), f64(4, seed=2),
                                                             (2, 1), 1, (1, 2)), "ex04_convolution.conv2d"),
    ("course/chapters/folding_space.py", "affine_relu_steps", (f64(50, 2), *pieces(3, 5)), "ex01_folding_space.layer_steps"),
    ("course/chapters/folding_space.py", "affine_relu_steps", (f64(50, 2), *pieces(1, 5)), "ex01_folding_space.layer_steps"),
    ("course/chapters/folding_space.py", "relu_landing",
     (torch.tensor([[1.0, 2.0], [-1.0, 2.0], [-1.0, -2.0], [0.0, 3.0], [0.0, 0.0]]),), "ex01_folding_space.relu_landing"),
    ("course/chapters/parameter_transformations.py", "share", (f64(5), torch.tensor([[0, 4, 4], [2, 2, 0]])), None),
    ("course/chapters/parameter_transformations.py", "sum_tied_gradients",
     (f64(2, 3), torch.tensor([[0, 4, 4], [2, 2, 0]]), 6), None),
    ("course/chapters/parameter_transformations.py", "target_forward", (f64(6, 2), f64(6, 13, seed=1), 3), None),
    ("course/chapters/deep_conv_nets.py", "layer_receptive_fields",
     ([(3, 1, 1, 1), (2, 2, 0, 1), (3, 2, 2, 2), (5, 1, 2, 1), (2, 1, 0, 3)],), "ex05_deep_conv_nets.receptive_field"),
    ("course/chapters/deep_conv_nets.py", "receptive_field", ([],), "ex05_deep_conv_nets.receptive_field"),
    ("course/chapters/deep_conv_nets.py", "receptive_field", ([(4, 2, 1, 1), (3, 2, 2, 2)],),
     "ex05_deep_conv_nets.receptive_field"),
    ("course/chapters/group_convolution.py", "group_pool", (f64(2, 3, 8, 5, 4),), None),
    ("course/analysis/banding.py", "band_fractions", (torch.cat([f64(4, 3, 3, 5), torch.ones(1, 3, 3, 5)]),),
     "ex10_weight_banding.band_fractions"),
    ("kernels/group_reference.py", "expand_lift_filters", (f64(3, 2, 3, 3), "p4m"), None),
    ("kernels/group_reference.py", "expand_group_filters", (f64(3, 2, 4, 5, 5), "p4"), None),
    ("kernels/group_reference.py", "expand_group_filters", (f64(2, 2, 8, 3, 3), "p4m"), None),
    ("kernels/group_reference.py", "p4_lift", (f64(2, 3, 7, 9), f64(4, 3, 3, 3, seed=1), f64(4, seed=2), (2, 1), (1, 0)), None),
    ("kernels/group_reference.py", "p4m_lift", (f64(1, 2, 6, 5), f64(3, 2, 2, 2, seed=1), None, (1, 2), (0, 1)), None),
    ("kernels/group_reference.py", "p4_conv", (f64(2, 2, 4, 8, 6), f64(3, 2, 4, 3, 3, seed=1), f64(3, seed=2), (2, 2), (1, 1)),
     None),
    ("kernels/group_reference.py", "p4m_conv", (f64(1, 2, 8, 5, 7), f64(2, 2, 8, 3, 3, seed=1), None, (3, 1), (2, 0)), None),
]


def not_written(*args, **kwargs):
    raise NotImplementedError("exNN: a stub")


RUNS = [(*case, wrote) for case in CASES for wrote in ((True, False) if case[3] else (False,))]


@pytest.mark.parametrize("relative, function, args, yours, student_wrote_it", RUNS,
                         ids=[f"{run[1]}-{i}-{'yours' if run[4] else 'torch'}" for i, run in enumerate(RUNS)])
def test_released_library_computes_what_the_instructors_does(relative, function, args, yours, student_wrote_it,
                                                             monkeypatch):
    """The student copy's version of each marked library function against the instructor's, both on the
    exercise function (here the instructor's solution stands in for the student's) and on torch's fallback."""
    if yours is not None and not student_wrote_it:
        module, name = yours.split(".")
        monkeypatch.setattr(importlib.import_module(f"course.exercises.{module}"), name, not_written)
    instructor = getattr(importlib.import_module(relative.removesuffix(".py").replace("/", ".")), function)
    expected, result = instructor(*args), getattr(released_module(relative), function)(*args)
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(result, expected, rtol=1e-12, atol=1e-12)  # float64: summation order only
    elif isinstance(expected, (list, tuple)) and expected and isinstance(expected[0], torch.Tensor):
        assert len(result) == len(expected)
        for got, want in zip(result, expected):
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    else:
        assert result == expected and type(result) is type(expected)


def test_released_group_reference_has_no_filter_expansion_and_keeps_gradients():
    released = released_module("kernels/group_reference.py")
    source = strip_solutions((CHECKOUT_ROOT / "kernels/group_reference.py").read_text(), None)
    assert "act_on_image(weight" not in source and "act_on_feature_map(weight" not in source
    f, w = f64(1, 1, 4, 4, 4).requires_grad_(), f64(1, 1, 4, 3, 3, seed=1).requires_grad_()
    assert torch.autograd.gradcheck(lambda f, w: released.p4_conv(f, w, None, (1, 1), (1, 1)), (f, w))


# --------------------------------------------------------------------------------------
# The real release of this checkout
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def student_copy(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "copy"
    release(out)
    return out


def test_student_copy_holds_graded_tests_but_no_mutants_nor_library_tests(student_copy):
    assert sorted(p.name for p in (student_copy / "tests" / "exercises").glob("test_ex*.py"))
    assert not (student_copy / "tests" / "exercises" / "mutants").exists()
    for left_out in ("grading", "kernels", "chapters", "lessons"):
        assert not (student_copy / "tests" / left_out).exists()


def test_student_readme_lists_forbidden_functions_and_where_lessons_use_yours(student_copy):
    readme = (student_copy / "README_STUDENT.md").read_text()
    assert "python -m course grade ex04" in readme and "tests/exercises/test_ex04_convolution.py" in readme
    assert "`torch.nn.functional.unfold`" in readme and "`kernels.groups.Group.act_on_image`" in readme
    assert "your `ex04_convolution.im2col` in `course.chapters.convolution.unfold2d`" in readme
    assert "{forbidden}" not in readme and "{yours}" not in readme


def test_student_copy_library_imports_and_runs_on_torch(student_copy):
    """Every marked library module of the copy imports there, and runs its fallbacks on the stubs."""
    script = ("import torch, kernels\n"
              "from course.chapters import convolution, folding_space, deep_conv_nets, parameter_transformations\n"
              "from course.chapters import group_convolution\n"
              "x, w = torch.randn(1, 2, 6, 6), torch.randn(3, 2, 3, 3)\n"
              "assert torch.allclose(convolution.cross_correlate2d(x, w, padding=1), torch.conv2d(x, w, padding=1), atol=1e-5)\n"
              "assert deep_conv_nets.receptive_field([(3, 1, 1, 1), (2, 2, 0, 1)]) == (4, 2, -1)\n"
              "assert kernels.p4_lift(x, w, padding=1, backend='torch').shape == (1, 3, 4, 6, 6)\n"
              "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=student_copy, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(student_copy)})
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]
