"""Datasets as tf.data pipelines scaled to [-1, 1]."""

from keras_gans.data.idx import read_idx
from keras_gans.data.loader import (
    FASHION_MNIST_CLASSES,
    check_images,
    load,
    load_numpy,
    prefetched,
    to_pipeline,
)
from keras_gans.data.unpaired import load_unpaired
from keras_gans.data.paired import load_paired

__all__ = ["load", "load_unpaired", "load_paired", "load_numpy", "to_pipeline", "prefetched", "check_images", "read_idx", "FASHION_MNIST_CLASSES"]
