# Two commands do everything on a fresh machine:
#   make book   -> virtual environment, install, execute the notebooks, HTML in _build/html
#   make test   -> same install, lint and types, unit tests, every notebook under nbval,
#                  the book build check
#   make course -> student notebooks and autograders for every chapter (instructors; otter-grader)
# Also: make lint (ruff, ruff format --check, mypy), make format, make dist (sdist + wheel).
# See README.md for what each step does and how to adapt the torch install elsewhere.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JOBS ?= 2
# torch is installed before the project so that pip never resolves `torch>=2.2`
# to a multi-GB CUDA build on a CPU machine. On this kind of machine torch==2.13.0
# is a CPU wheel on local disk; elsewhere pass e.g.
#   make test TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_CPU ?= torch==2.13.0
TORCH_GPU ?= torch>=2.2
TORCH_PIP_ARGS ?=
# e.g. PIP_CONSTRAINTS="-c tools/constraints-lowest.txt" (the `lowest` workflow)
PIP_CONSTRAINTS ?=
# Install Debian's chromium for the offline-rendering test (only in CI, as root).
INSTALL_BROWSER ?= $(CI)

BUILD := _build
STAMP := $(VENV)/.companion-installed
COURSE_STAMP := $(VENV)/.course-installed
COURSE_OUT := $(BUILD)/course

export COMPANION_BOOK := 1
export PYTHONHASHSEED := 0
# Tests run two processes on two cores: one thread each. With more, torch's OpenMP
# threads spin-wait on each other and small-model training slows down ~20x.
THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: install course-install course book test lint format dist unit notebooks build-check browser-check browser clean clean-cache cache-key full smoke small-results

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools>=77"
	@if $(PY) -c "import torch" 2>/dev/null; then \
	  echo "torch already installed: $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
	  $(PY) -m pip install -q "$(TORCH_GPU)" $(TORCH_PIP_ARGS); \
	else \
	  $(PY) -m pip install -q "$(TORCH_CPU)" $(TORCH_PIP_ARGS); \
	fi
	$(PY) -m pip install -q $(PIP_CONSTRAINTS) -e ".[book,test,lint]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

# The course kit's optional extra (otter-grader): `make course` needs it, and `make test`
# installs it so that the assignment tests (tests/test_course.py) run instead of skipping.
course-install: $(COURSE_STAMP)

$(COURSE_STAMP): $(STAMP)
	$(PY) -m pip install -q $(PIP_CONSTRAINTS) -e ".[course]"
	@touch $@

# One student notebook (solutions replaced by placeholders) and one autograder per chapter,
# all from course/<chapter>.ipynb. See course/README.md for handing out and grading.
course: course-install
	@rm -rf $(COURSE_OUT)
	@for src in course/[0-9]*.ipynb; do \
	  name=$$(basename $$src .ipynb); \
	  $(THREADS) $(VENV)/bin/otter assign --no-run-tests $$src $(COURSE_OUT)/$$name >/dev/null || exit 1; \
	  echo "$(COURSE_OUT)/$$name: student/$$name.ipynb, autograder/$$(cd $(COURSE_OUT)/$$name/autograder && ls *.zip)"; \
	done

# Outputs cached by jupyter-cache are keyed on the notebooks' code only; a change
# in companion/ or the dependencies must invalidate them too.
cache-key: install
	@mkdir -p $(BUILD)
	@key=$$(cat pyproject.toml $$(find companion -name '*.py' | sort) | sha256sum | cut -c1-16); \
	if [ "$$(cat $(BUILD)/.cache-key 2>/dev/null)" != "$$key" ]; then \
	  rm -rf $(BUILD)/.jupyter_cache; echo "$$key" > $(BUILD)/.cache-key; \
	  echo "companion or dependencies changed: notebook cache cleared"; fi

book: cache-key
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "Book: $(BUILD)/html/index.html"

# ruff: pyflakes, pycodestyle (notebook cells at 85 columns, see notebooks/ruff.toml),
# isort, bugbear, pyupgrade; the formatter's check; mypy on companion/ ([tool.mypy]).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# sdist + wheel with the venv's setuptools (no download of a build environment), then the
# metadata check that PyPI applies.
dist: install
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

unit: install course-install
	$(THREADS) $(PY) -m pytest -m "not book" -n $(JOBS) -p no:cacheprovider --durations=12 --disable-socket --allow-unix-socket tests/

# Each notebook runs once, in parallel; the executed notebooks are stored in the
# book's execution cache (conftest.py), so the build below re-runs none of them.
notebooks: cache-key
	$(THREADS) $(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -n $(JOBS) \
	  --dist loadscope -p no:cacheprovider notebooks/

build-check: cache-key
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

browser:
	@if [ -n "$(INSTALL_BROWSER)" ] && ! command -v chromium >/dev/null 2>&1 \
	    && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium for the offline-rendering test"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium install failed: browser test will skip"; \
	fi

browser-check: browser
	$(PY) -m pytest -m book -p no:cacheprovider tests/

test: lint unit notebooks build-check browser-check
	@echo "make test: all green"

# Every chapter at COMPANION_SCALE=full on the best device (COMPANION_DEVICE overrides it):
# results/<chapter>.json with each claim's numbers and verdict, device, wall time, versions.
# Hours on a CPU; meant for a GPU. `make smoke` runs the same configuration for SMOKE_STEPS
# iterations of every long loop and records results/<chapter>.smoke.json with the time per
# step and the projected full run. `make small-results` records the default scale the same
# way (results/<chapter>.small.json), for the Reproductions page (book/reproductions.md).
# Pick chapters with CHAPTERS="notebooks/04_*.ipynb".
CHAPTERS ?= $(sort $(wildcard notebooks/*.ipynb))
SMOKE_STEPS ?= 5

full: install
	$(PY) tools/full_run.py $(CHAPTERS)

smoke: install
	$(PY) tools/full_run.py --smoke $(SMOKE_STEPS) $(CHAPTERS)

small-results: install
	$(PY) tools/full_run.py --scale small $(CHAPTERS)

clean:
	rm -rf $(BUILD) dist build

clean-cache:
	rm -rf $(BUILD)/.jupyter_cache $(BUILD)/.cache-key
