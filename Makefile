# The two commands: `make demo` (offline end-to-end lite build) and `make test` (the whole suite).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DEB_PKGS := docker-registry skopeo umoci apache2-utils openssl openssh-server openssh-client busybox-static containerd runc \
	docker.io mmdebstrap

.PHONY: all install deps venv demo test lint typecheck stress bench clean mutation

all: test

# Debian packages the tests and the demo use (only when root and something is missing).
deps:
	@missing=""; for b in docker-registry skopeo umoci htpasswd openssl sshd busybox containerd ctr dockerd mmdebstrap; do \
	  command -v $$b >/dev/null 2>&1 || [ -x /usr/sbin/$$b ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo ">> installing Debian packages: $(DEB_PKGS)"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PKGS) >/dev/null; \
	  else echo "!! missing Debian packages; run as root or install: $(DEB_PKGS)"; fi; \
	fi

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	@$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(VENV)/.installed
install: deps venv

demo: install
	bash scripts/demo.sh

test: install
	$(VENV)/bin/pytest -n auto -q --timeout=600 -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy --strict src/sealer
	$(VENV)/bin/lint-imports

stress: install
	STRESS=1 $(VENV)/bin/python bench/stress.py

# Mutation testing (not in CI; minutes per module on 2 cores): modules and test selection in [tool.mutmut]
# of pyproject.toml. Prints the score per module; README "Testing" lists the figures and how to run the rest.
mutation: install
	$(PY) -m pip install -q -e '.[mutation]'
ifdef MUTATION_SET
	$(PY) scripts/mutation_sets.py $(MUTATION_SET)
else
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $${MUTATION_JOBS:-2} >/dev/null || true
	$(VENV)/bin/mutmut results --all true | $(PY) scripts/mutation_score.py
endif

bench: install
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo .bench mutants .mutation
