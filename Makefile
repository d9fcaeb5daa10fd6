# Quick start: `make demo` and `make test` install whatever is missing into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.j4d-installed

.PHONY: demo test lint bench validate plots clean

$(STAMP): pyproject.toml setup.py src/j4d/encoders/_rd.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: pip takes these two from this machine's local wheel store
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/j4d demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

bench: $(STAMP)
	$(BIN)/python bench/bench_codec.py
	$(BIN)/python bench/bench_encoders.py
	$(BIN)/python bench/bench_startup.py
	$(BIN)/python bench/bench_folder.py
	$(BIN)/python bench/bench_distributed.py
	$(BIN)/python bench/bench_shards.py

# the plots of every evaluation report, redrawn from the data kept beside them
plots: $(STAMP)
	$(BIN)/python scripts/redraw_plots.py

validate: $(STAMP)
	$(BIN)/python bench/validate_codec.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info src/j4d/encoders/*.so
