"""Same-process A/B of a DCGAN train step: the old in-step range gate vs the
pipeline check (kg.models.GAN.fit). Interleaved rounds, median ms/step.

Usage: python bench/data_check_step.py BATCH STEPS ROUNDS  (e.g. 64 10 6)
"""
import sys, time
import numpy as np, tensorflow as tf, keras
import keras_gans as kg
from keras_gans.data import load_numpy
from keras_gans.models import data_checks

def old_validate(images, image_shape, what="images", tolerance=1e-3):
    images = data_checks.validate_images(images, image_shape, what)
    ok = tf.reduce_all(tf.abs(images) <= 1.0 + tolerance)
    def fail():
        worst = tf.reduce_max(tf.where(tf.math.is_nan(images), np.inf, tf.abs(images)))
        with tf.control_dependencies([tf.debugging.Assert(False, ["range", worst])]):
            return tf.identity(images)
    return tf.cond(ok, lambda: images, fail)

class OldDCGAN(kg.models.DCGAN):
    """The step before: range gate inside train_step, no pipeline check, no input gating."""
    def unpack_data(self, data):
        return old_validate(data, self.image_shape)
    def checked_data(self, x, y=None):
        return x, y
    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        self.train_function = self._make_function(self.train_step)
        return self.train_function

batch, steps, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
images = load_numpy("fashion_mnist")[0][: batch * steps].astype("float32") / 127.5 - 1
ds = tf.data.Dataset.from_tensor_slices(images).batch(batch, drop_remainder=True).cache()
class Timer(keras.callbacks.Callback):
    def on_train_batch_begin(self, b, logs=None): self.t = time.perf_counter()
    def on_train_batch_end(self, b, logs=None): self.times.append(time.perf_counter() - self.t)
models = {}
for name, cls in (("before", OldDCGAN), ("after", kg.models.DCGAN)):
    keras.utils.set_random_seed(0)
    m = cls(latent_dim=128, image_shape=(28, 28, 1), width=32, seed=0)
    m.compile()
    m.fit(ds.take(2), verbose=0)  # trace
    models[name] = m
res = {k: [] for k in models}
for r in range(rounds):
    for name in (("before", "after") if r % 2 == 0 else ("after", "before")):
        t = Timer(); t.times = []
        models[name].fit(ds, verbose=0, callbacks=[t])
        res[name].extend(t.times[1:])
for name, v in res.items():
    v = np.array(v) * 1e3
    print(f"{name:6s} median {np.median(v):7.1f} ms/step  mean {v.mean():7.1f}  n={len(v)}")
