"""MkDocs hook: publish the zoo's sample grids (zoo/*.png) as assets/zoo/<name>.png.

The grids are written by ``keras-gans zoo train NAME --publish`` into the
repository's ``zoo/`` folder, outside ``docs/``; adding them here (instead of
copying them into ``docs/``) keeps one file per grid, so the site can never
show an older picture than the README.
"""

import glob
import os

from mkdocs.structure.files import File

ZOO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "zoo")


def on_files(files, config):
    for path in sorted(glob.glob(os.path.join(ZOO_DIR, "*.png"))):
        name = os.path.basename(path)
        files.append(
            File.generated(config, f"assets/zoo/{name}", abs_src_path=path)
        )
    return files
