"""Autograding: the student copy (release), the sandboxed exercise calls, the grader and its report."""
