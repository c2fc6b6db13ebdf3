"""nbgrader configuration of the Deep Vision course root (this folder).

`course` (course_grading/cli.py) runs nbgrader with this folder as the working directory, so these
settings apply to release, autograde and feedback alike. Everything nbgrader writes here
(source/, release/, submitted/, autograded/, feedback/, gradebook.db) is generated and ignored
by git; the source notebooks live in ../notebooks/.
"""

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "deep-vision"

# What students see where an answer goes.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Execution. Per cell: generous enough for a PyTorch training cell on a slow laptop CPU.
# The whole-notebook limit is enforced by `course autograde --timeout` around each submission.
c.Execute.timeout = 300
# `course autograde` calibrates a limit per cell on the reference solution (10 s + 10x its time;
# course_grading/limits.py) and names the file in $COURSE_CELL_LIMITS; without it, 300 s.
try:
    from course_grading.limits import cell_timeout

    c.Execute.timeout_func = cell_timeout
except ImportError:  # nbgrader run outside the course's environment: the flat limit applies
    pass
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
# Autograding always runs the quick variant of every slow cell (course_utils.fast_mode reads
# NBGRADER_EXECUTION too; COURSE_FAST makes it explicit for helpers started in subprocesses).
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]

# Harmless stderr (library warnings, progress bars, font-cache notices) must not zero a test
# cell: nbgrader scores any stderr in a test cell as a failure. The step is off by default.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(Warning|warnings\.warn|Matplotlib is building the font cache|"
    r"\d+%\|.*\||it/s\]|s/it\]|UserWarning|FutureWarning|DeprecationWarning)"
)

# A runaway print loop in a submission must not produce a gigabyte of feedback.
c.LimitOutput.max_lines = 300
c.LimitOutput.max_traceback = 60

# Students delete or duplicate cells: put deleted test cells back before grading.
c.OverwriteCells.add_missing_cells = True

# Integrity: each check cell first puts back builtins, torch/numpy comparisons and the course's
# check functions a submission may have replaced (course_utils/integrity.py), and nbgrader
# records an error for a cell whose failure a submission hid from the output.
try:
    from nbgrader.converters.autograde import Autograde

    from course_grading.execute import RecoveringExecute
    from course_grading.integrity import DropRestoreLine, RestoreBeforeChecks

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    execute = next(i for i, step in enumerate(steps) if step.__name__ == "Execute")
    c.Autograde.autograde_preprocessors = [
        *steps[:execute],
        RestoreBeforeChecks,
        RecoveringExecute,  # a cell that kills the kernel costs that cell, not the notebook
        DropRestoreLine,
        *steps[execute + 1 :],
    ]
except ImportError:  # outside the course's environment: nbgrader's own steps
    pass
