# make install: .venv with pinned deps + lava-nc (idempotent); make demo; make test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --ignore-requires-python lava-nc==0.10.0
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: install
	$(VENV)/bin/ttfs-deploy demo --out demo-out

test: install
	$(PY) -m pytest -q

clean:
	rm -rf demo-out .pytest_cache .hypothesis
