"""Write uint8 images as PNG files with the standard library only (zlib + struct).

Both serving clients use it, so they run without Pillow or keras-gans.
"""

import os
import struct
import zlib


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(image):
    """PNG bytes of one image: nested lists or an array ``[h, w, c]`` of ints in [0, 255], c = 1 or 3."""
    rows = [list(row) for row in image]
    height, width = len(rows), len(rows[0])
    first = rows[0][0]
    channels = len(first) if isinstance(first, (list, tuple)) or hasattr(first, "__len__") else 1
    if channels not in (1, 3, 4):
        raise ValueError(f"images must have 1, 3 or 4 channels, got {channels}")
    color = {1: 0, 3: 2, 4: 6}[channels]
    raw = bytearray()
    for row in rows:
        raw.append(0)  # filter type: none
        for pixel in row:
            values = pixel if channels > 1 or hasattr(pixel, "__len__") else [pixel]
            raw.extend(int(v) for v in values)
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + _chunk(b"IEND", b"")


def write_pngs(images, out_dir, prefix="image"):
    """Write each image of a batch ``[n, h, w, c]`` (uint8 values) to ``out_dir/prefix_000.png``...

    Returns:
        list of the paths written.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = os.path.join(out_dir, f"{prefix}_{i:03d}.png")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(encode_png(image))
        os.replace(tmp, path)  # a reader never sees half a PNG
        paths.append(path)
    return paths
