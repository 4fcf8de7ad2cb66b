# soilsat: the two commands of the README are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)
CORES ?= 2

.PHONY: setup run test lint format clean rehearse
STUDIES := $(basename $(notdir $(wildcard studies/*.yaml)))

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

run: setup
	$(BIN)/snakemake --profile profiles/default --cores $(CORES)
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) --report results/demo/report.html

# A study file run offline on a synthetic world shaped like it (studies/rehearsals/<study>.yaml is the overlay).
rehearse: setup
	@test -n "$(STUDY)" || { echo "usage: make rehearse STUDY=<study>, one of: $(STUDIES)"; exit 2; }
	@test -f studies/$(STUDY).yaml || { echo "error: no study named '$(STUDY)' (no studies/$(STUDY).yaml); the studies are: $(STUDIES)"; exit 2; }
	@test -f studies/rehearsals/$(STUDY).yaml || { echo "error: study '$(STUDY)' has no rehearsal overlay studies/rehearsals/$(STUDY).yaml"; exit 2; }
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) --configfile studies/$(STUDY).yaml studies/rehearsals/$(STUDY).yaml
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) --configfile studies/$(STUDY).yaml studies/rehearsals/$(STUDY).yaml --report results/$(STUDY)-rehearsal/report.html

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check .
	$(BIN)/ruff check scripts tests benchmarks
	$(BIN)/ruff format --check scripts tests benchmarks
	$(BIN)/mypy

format: setup
	$(BIN)/snakefmt .
	$(BIN)/ruff check --fix scripts tests benchmarks
	$(BIN)/ruff format scripts tests benchmarks

clean:
	rm -rf results resources .snakemake
