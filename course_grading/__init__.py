"""Instructor tooling for Deep Vision: release, sanitise, autograde, feedback, grades (the `course` CLI).

The package is named `course_grading` so it never shadows (or is shadowed by) another
top-level `grading`; the nbgrader course root it works on is the repository's `grading/` folder.
"""
