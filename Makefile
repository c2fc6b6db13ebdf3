# Deep Vision: every target sets up .venv itself when needed (and only when needed).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := $(wildcard notebooks/*/*.ipynb notebooks/*/*/*)
RELEASE_STAMP := grading/release/.released
JOBS ?= 2
# Each pytest worker (and every kernel it starts) gets its share of the cores: torch's
# default of one thread per core in every process would oversubscribe them.
TEST_THREADS := $(shell n=$$(( $$(nproc) / $(JOBS) )); echo $$(( n > 0 ? n : 1 )))
PYTEST_ARGS ?= --durations=25

.PHONY: setup lab instructor test test-fast release grade-demo lint format doctor clean

# Re-install only when the package definition changed (or the venv is new).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 --display-name "Python 3 (Deep Vision)" > /dev/null
	@touch $(STAMP)

# Student versions, rebuilt only when a source notebook changed. Anything a student changed in
# the release folder itself is first copied into work/ (`course start --rescue`); `course
# release` refuses to overwrite release files edited since the last release.
$(RELEASE_STAMP): $(STAMP) $(SOURCES)
	$(BIN)/course start --rescue
	$(BIN)/course release
	@touch $(RELEASE_STAMP)

setup: $(STAMP)
	@if [ -d .git ] && [ -z "$$CI" ]; then $(BIN)/pre-commit install > /dev/null && echo "pre-commit hooks installed"; fi
	@command -v bwrap > /dev/null || { \
		if command -v apt-get > /dev/null && { [ "$$(id -u)" = 0 ] || sudo -n true 2> /dev/null; }; then \
			$$( [ "$$(id -u)" = 0 ] || echo sudo -n ) apt-get install -y -qq bubblewrap > /dev/null && echo "bubblewrap installed (autograding sandbox)"; \
		else echo "note: install bubblewrap (sudo apt-get install bubblewrap) so course autograde can sandbox student code"; fi; }

# The student's JupyterLab, on the student's own copies in work/ (ignored by git). `course
# start` copies newly released notebooks there and never replaces one that is already there
# (`course update ASSIGNMENT` brings in a newer release, keeping the answers). FAST mode is on;
# `make lab FAST=0` runs the full-size variants. jupyter/student/ hides the instructor's
# nbgrader menus and server extensions.
FAST ?= 1
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: setup $(RELEASE_STAMP)
	$(BIN)/course start
	COURSE_FAST=$(FAST) JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/student $(BIN)/jupyter lab --notebook-dir=work $(LAB_ARGS) $(ALLOW_ROOT)

# The instructor's JupyterLab: rooted at the nbgrader course root, opening on the formgrader
# (Nbgrader menus, Create Assignment panel, grading).
instructor: setup $(RELEASE_STAMP)
	cd grading && ../$(BIN)/jupyter lab --notebook-dir=. --LabApp.default_url=/formgrader $(LAB_ARGS) $(ALLOW_ROOT)

# The whole suite: unit tests, every notebook in FAST mode (also in JupyterLab in a headless
# browser when Chromium is installed), grading round trips, benchmarks smoke-run, lint.
# Builds the student versions first, as `make lab` does.
test: setup $(RELEASE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	COURSE_FAST=1 OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$(TEST_THREADS)} $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

# Unit tests only (seconds): no notebook execution, no browser, no grading round trips.
test-fast: setup
	$(BIN)/python -m pytest -m "not notebook" $(PYTEST_ARGS)

release: setup
	$(BIN)/course release $(if $(REPO_URL),--repo-url $(REPO_URL) --ref $(or $(REF),main))

# Grades the bundled demo submissions of the PyTorch tutorial end to end.
grade-demo: setup
	$(BIN)/course release 01_pytorch_tutorial
	$(BIN)/course demo-submissions 01_pytorch_tutorial --out grading/demo_submissions
	$(BIN)/course autograde 01_pytorch_tutorial --submissions grading/demo_submissions
	$(BIN)/course feedback 01_pytorch_tutorial
	$(BIN)/course grades --csv grading/grades.csv

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/course check-notebooks

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/course normalize

doctor: setup
	$(BIN)/course doctor

clean:
	rm -rf grading/source grading/release grading/submitted grading/autograded grading/feedback grading/gradebook.db grading/demo_submissions
