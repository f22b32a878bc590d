# make install: .venv with pinned deps + lava-nc, numba kernel compiled (idempotent); make demo; make test.
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
	# compile the event simulator's numba kernel once, into numba's on-disk cache (about 10 s)
	$(PY) -c "from ttfs_deploy.backends.eventsim.kernel import warm_up; print(f'numba kernel ready in {warm_up():.1f} s')"
	touch $(STAMP)

demo: install
	$(VENV)/bin/ttfs-deploy demo --out demo-out

test: install
	$(PY) -m pytest -q

clean:
	rm -rf demo-out .pytest_cache .hypothesis
