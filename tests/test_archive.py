"""kg.archive.safe_extract: zip slip, absolute paths, links and devices are refused; all or nothing."""

import io
import os
import stat
import tarfile
import zipfile

import numpy as np
import pytest

from keras_gans.archive import safe_extract


def make_zip(path, members):
    """``members``: list of (name, bytes or None for a folder, unix mode or None)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data if data is not None else b"")
    return path


def make_tar(path, members, compression=""):
    """``members``: list of tarfile.TarInfo keyword dicts, with ``data`` for files."""
    with tarfile.open(path, "w" + (":" + compression if compression else "")) as tf:
        for member in members:
            member = dict(member)
            data = member.pop("data", None)
            info = tarfile.TarInfo(member.pop("name"))
            for key, value in member.items():
                setattr(info, key, value)
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def tree(folder):
    """``{relative path: bytes}`` of every file under ``folder``."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, folder)] = f.read()
    return out


def test_a_good_zip_and_tar_extract_their_files_and_folders(tmp_path):
    members = [("imgs/", None, None), ("imgs/a/1.png", b"one", None), ("imgs/b/2.png", b"two", None),
               ("./readme.txt", b"hi", None)]
    zipped = safe_extract(make_zip(tmp_path / "x.zip", members), tmp_path / "from_zip")
    assert zipped == str(tmp_path / "from_zip")
    expected = {"imgs/a/1.png": b"one", "imgs/b/2.png": b"two", "readme.txt": b"hi"}
    assert tree(zipped) == expected
    tar_members = [
        {"name": "imgs", "type": tarfile.DIRTYPE},
        {"name": "imgs/a/1.png", "data": b"one", "mode": 0o4755},  # setuid bit is not copied
        {"name": "imgs/b/2.png", "data": b"two"},
        {"name": "readme.txt", "data": b"hi"},
    ]
    for compression in ("", "gz", "xz"):
        archive = make_tar(tmp_path / f"x{compression}.tar", tar_members, compression)
        out = safe_extract(archive, tmp_path / f"from_tar{compression}")
        assert tree(out) == expected
        mode = os.stat(os.path.join(out, "imgs/a/1.png")).st_mode
        assert not mode & (stat.S_ISUID | stat.S_IXUSR)
    # Nothing but the destinations and the archives is left in the parent.
    assert not [e for e in os.listdir(tmp_path) if e.startswith(".tmp-")]


@pytest.mark.parametrize(
    "name, message",
    [
        ("../evil.txt", r"outside the folder \('..'\)"),
        ("imgs/../../evil.txt", r"outside the folder"),
        ("..\\evil.txt", r"outside the folder"),
        ("/etc/evil.txt", "absolute path"),
        ("\\evil.txt", "absolute path"),
        ("C:/evil.txt", "absolute path"),
    ],
)
def test_zip_slip_and_absolute_members_are_refused_and_nothing_is_written(tmp_path, name, message):
    # The bad member comes last: the whole archive is checked before anything is written.
    archive = make_zip(tmp_path / "bad.zip", [("ok/1.png", b"fine", None), (name, b"pwned", None)])
    dest = tmp_path / "sub" / "dest"
    with pytest.raises(ValueError, match=message):
        safe_extract(archive, dest)
    assert not dest.exists()
    # Checked before anything is created: not even the parent folder appears.
    assert not (tmp_path / "sub").exists() and not (tmp_path / "evil.txt").exists()


def test_zip_holding_a_symlink_is_refused(tmp_path):
    archive = make_zip(tmp_path / "link.zip", [
        ("ok.png", b"x", None), ("passwd", b"/etc/passwd", stat.S_IFLNK | 0o777),
    ])
    with pytest.raises(ValueError, match="'passwd' is a link"):
        safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize(
    "member",
    [
        {"name": "link", "type": tarfile.SYMTYPE, "linkname": "/etc/passwd"},
        {"name": "hard", "type": tarfile.LNKTYPE, "linkname": "ok.png"},
        {"name": "dev", "type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3},
        {"name": "fifo", "type": tarfile.FIFOTYPE},
    ],
)
def test_tar_links_devices_and_fifos_are_refused(tmp_path, member):
    archive = make_tar(tmp_path / "bad.tar.gz", [{"name": "ok.png", "data": b"x"}, member], "gz")
    with pytest.raises(ValueError, match=f"'{member['name']}' is a link or a device"):
        safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_tar_slip_is_refused(tmp_path):
    archive = make_tar(tmp_path / "slip.tar", [{"name": "../../evil.txt", "data": b"x"}])
    with pytest.raises(ValueError, match="outside the folder"):
        safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_existing_destination_missing_and_non_archives_are_refused(tmp_path):
    archive = make_zip(tmp_path / "x.zip", [("a.png", b"x", None)])
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        safe_extract(archive, tmp_path / "taken")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        safe_extract(tmp_path / "nope.zip", tmp_path / "d1")
    (tmp_path / "notes.txt").write_text("not an archive")
    with pytest.raises(ValueError, match="not a zip or tar archive"):
        safe_extract(tmp_path / "notes.txt", tmp_path / "d2")
    # A truncated zip is no longer recognised as one.
    data = (tmp_path / "x.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a zip or tar archive"):
        safe_extract(tmp_path / "cut.zip", tmp_path / "d3")
    assert not any((tmp_path / d).exists() for d in ("d1", "d2", "d3"))


def test_load_numpy_reads_an_image_folder_from_a_zip_or_tar_and_refuses_a_slip(tmp_path):
    import tensorflow as tf

    import keras_gans as kg

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (4, 8, 8, 1), dtype="uint8")
    pngs = [tf.io.encode_png(p).numpy() for p in pixels]
    # One top folder wrapping one subfolder per class, as archives usually are.
    members = [(f"shoes/{cls}/{i}.png", pngs[i], None) for i, cls in enumerate(["boot", "boot", "sneaker", "sneaker"])]
    for archive in (make_zip(tmp_path / "shoes.zip", members),
                    make_tar(tmp_path / "shoes.tar.gz", [{"name": n, "data": d} for n, d, _ in members], "gz")):
        images, labels = kg.data.load_numpy(archive)
        np.testing.assert_array_equal(images, pixels)
        assert labels.tolist() == [0, 0, 1, 1]
    batch = next(iter(kg.data.load(tmp_path / "shoes.zip", batch_size=2, labels=True)))
    assert batch[0].shape == (2, 8, 8, 1) and float(tf.reduce_max(tf.abs(batch[0]))) <= 1.0
    slip = make_zip(tmp_path / "slip.zip", members + [("../../evil.png", pngs[0], None)])
    with pytest.raises(ValueError, match="refusing to extract .*outside the folder"):
        kg.data.load_numpy(slip)
    assert not (tmp_path.parent / "evil.png").exists()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not a .npz or an archive"):
        kg.data.load_numpy(tmp_path / "notes.txt")
