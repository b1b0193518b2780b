# `make demo` and `make test` each set themselves up from nothing: a virtual
# environment in .venv, the package with its test extras, and Fashion-MNIST
# from the Debian package (installed with apt-get when run as root).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR := /usr/share/datasets/fashion-mnist
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: demo test test-slow bench docs setup data clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

data:
	@if [ -z "$$KERAS_GANS_DATA" ] && [ ! -f $(DATA_DIR)/train-images-idx3-ubyte.gz ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get install -y -q dataset-fashion-mnist || (apt-get update -q && apt-get install -y -q dataset-fashion-mnist)) >/dev/null; \
	  else \
	    echo "Fashion-MNIST not found: run 'sudo apt-get install dataset-fashion-mnist' or set KERAS_GANS_DATA"; exit 2; \
	  fi; \
	fi

demo: setup data
	$(BIN)/keras-gans train dcgan --dataset fashion_mnist --epochs 2 --steps-per-epoch 150 --out runs/demo --overwrite
	$(BIN)/keras-gans sample runs/demo/model.keras --n 64 --seed 0 --out runs/demo/samples.png

test: setup data
	$(BIN)/python -m pytest -q

test-slow: setup data
	$(BIN)/python -m pytest -q -m slow

# The documentation site into site/ (git-ignored); --strict fails on a broken link or reference.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
	@echo "open site/index.html"

bench: setup data
	$(BIN)/python bench/train_throughput.py --rounds 3 --steps 20 --variants reuse_fakes --epochs 3 --batches 50

clean:
	rm -rf $(VENV) runs site *.egg-info
