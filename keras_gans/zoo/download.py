"""``kg.zoo.download`` is ``keras_gans.download``, the verified downloads.

They live below every other part of the package, so the metrics (the
Inception graph) use them without importing the zoo; this name stays for the
zoo's modules and for callers of ``keras_gans.zoo.download``. It is the same
module object, so patching an attribute here patches it there.
"""

import sys

from keras_gans import download as _download

sys.modules[__name__] = _download
