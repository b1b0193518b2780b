"""Property-based checks of kg.data.check_images and load_numpy: accept exactly the valid arrays."""

import os
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import keras_gans as kg

FEW = settings(max_examples=25, deadline=None)
SHAPES = hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=5)


@FEW
@given(images=hnp.arrays("uint8", SHAPES))
def test_any_uint8_nhw_or_nhwc_array_is_accepted_unchanged_with_a_channel_axis(images):
    out, labels = kg.data.check_images(images)
    assert out.dtype == np.uint8 and labels is None
    expected = images[..., None] if images.ndim == 3 else images
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


@FEW
@given(images=hnp.arrays(st.sampled_from(["float16", "float32", "float64"]), SHAPES,
                         elements=st.one_of(st.floats(-1.5, 1.5, width=16),
                                            st.sampled_from([np.nan, np.inf, -np.inf, 255.0]))))
def test_floats_are_accepted_exactly_when_all_finite_and_within_minus1_1(images):
    valid = bool(np.isfinite(images).all() and np.abs(images).max() <= 1.0)
    if valid:
        out, _ = kg.data.check_images(images)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.reshape(images.shape), images.astype("float32"))
    else:
        with pytest.raises(ValueError, match=r"float images must lie in \[-1, 1\].*x / 127.5 - 1"):
            kg.data.check_images(images)


@FEW
@given(images=hnp.arrays(st.sampled_from(["int8", "int16", "int64", "uint16", "bool", "complex64"]), SHAPES))
def test_other_dtypes_are_refused_naming_the_dtype(images):
    with pytest.raises(ValueError, match=f"uint8 in \\[0, 255\\] or float in \\[-1, 1\\], got dtype {images.dtype}"):
        kg.data.check_images(images)


@FEW
@given(shape=hnp.array_shapes(min_dims=0, max_dims=6, min_side=0, max_side=3))
def test_shapes_other_than_nhw_nhwc_or_empty_sets_are_refused(shape):
    images = np.zeros(shape, "uint8")
    if len(shape) in (3, 4) and shape[0] > 0:
        kg.data.check_images(images)
        return
    with pytest.raises(ValueError, match="images must have shape|the dataset is empty"):
        kg.data.check_images(images)


@FEW
@given(
    n=st.integers(1, 6),
    label_len=st.integers(0, 8),
    dtype=st.sampled_from(["int8", "int32", "int64", "uint8", "float32"]),
    column=st.booleans(),
)
def test_labels_must_be_one_integer_per_image(n, label_len, dtype, column):
    images = np.zeros((n, 4, 4, 1), "uint8")
    labels = np.arange(label_len).astype(dtype)
    if column:
        labels = labels[:, None]
    if not np.issubdtype(labels.dtype, np.integer):
        with pytest.raises(ValueError, match="labels must be integers"):
            kg.data.check_images(images, labels)
    elif label_len != n:
        with pytest.raises(ValueError, match=f"got {n} images but labels of shape .*: one label per image"):
            kg.data.check_images(images, labels)
    else:
        _, out = kg.data.check_images(images, labels)
        assert out.dtype == np.int32 and out.tolist() == list(range(n))


@settings(max_examples=10, deadline=None)
@given(images=hnp.arrays("uint8", hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=4)),
       with_labels=st.booleans())
def test_load_numpy_from_arrays_and_from_npz_agree(images, with_labels):
    labels = np.arange(len(images), dtype="int64") % 3 if with_labels else None
    source = (images, labels) if with_labels else images
    direct = kg.data.load_numpy(source)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, **({"images": images, "labels": labels} if with_labels else {"images": images}))
        from_file = kg.data.load_numpy(path)
    np.testing.assert_array_equal(direct[0], from_file[0])
    np.testing.assert_array_equal(direct[0], images)
    if with_labels:
        np.testing.assert_array_equal(direct[1], from_file[1])
        assert direct[1].dtype == np.int32
    else:
        assert direct[1] is None and from_file[1] is None
