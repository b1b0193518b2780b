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

# The demo: sample and export the pretrained zoo DCGAN, then train one briefly.
# Training uses the zoo entry's smaller networks (zoo/dcgan.fashion_mnist.toml:
# latent 64, width 32, batch 64) at 2.5x its learning rate for 1,200 steps:
# recognizable garments in about 2.5 minutes on 2 CPU cores, where the default
# DCGAN's 300 steps gave grey blobs.
DEMO := runs/demo
DEMO_TRAIN := --config latent_dim=64 --config width=32 --batch-size 64 --learning-rate 0.0005 \
	--epochs 4 --steps-per-epoch 300

demo: setup data
	@rm -rf $(DEMO); mkdir -p $(DEMO); date +%s > $(DEMO)/.start
	@echo "== 1/4 sample the pretrained zoo generator dcgan.fashion_mnist"
	$(BIN)/keras-gans sample dcgan.fashion_mnist --n 64 --seed 0 --out $(DEMO)/zoo_samples.png
	@echo "== 2/4 export it for TF Serving (SavedModel), verified against Keras"
	$(BIN)/keras-gans export dcgan.fashion_mnist --format saved_model --out $(DEMO)/serving
	@echo "== 3/4 train a DCGAN on Fashion-MNIST for 1,200 steps (a few minutes)"
	$(BIN)/keras-gans train dcgan --dataset fashion_mnist $(DEMO_TRAIN) --out $(DEMO)/train --verbose 2
	@echo "== 4/4 sample the trained model"
	$(BIN)/keras-gans sample $(DEMO)/train/model.keras --n 64 --seed 0 --out $(DEMO)/train_samples.png
	@echo ""
	@echo "make demo: done in $$(( $$(date +%s) - $$(cat $(DEMO)/.start) )) s; files:"
	@echo "  pretrained zoo samples:   $(DEMO)/zoo_samples.png"
	@echo "  TF Serving SavedModel:    $(DEMO)/serving/dcgan.fashion_mnist/1/"
	@echo "  trained model:            $(DEMO)/train/model.keras"
	@echo "  grid after each epoch:    $(DEMO)/train/samples/"
	@echo "  loss history:             $(DEMO)/train/history.csv"
	@echo "  trained model's samples:  $(DEMO)/train_samples.png"
	@rm -f $(DEMO)/.start

# The fast suite in TEST_WORKERS processes (pytest-xdist), each test file whole
# in one of them so its module fixtures are built once; the timings against one
# process are in docs/contributing.md. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2

test: setup data
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

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
