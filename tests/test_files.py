"""keras_wgan.files: files are written whole or not at all, with normal permissions."""

import json
import os

import pytest

from keras_wgan import files


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_write_gives_normal_permissions_and_leaves_no_temp_files(tmp_path, umask_022):
    path = files.atomic_write(tmp_path / "sub" / "x.txt", lambda f: f.write("hello"))
    assert path == str(tmp_path / "sub" / "x.txt")
    assert open(path).read() == "hello"
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)
    with pytest.raises(RuntimeError):
        files.atomic_write(tmp_path / "sub" / "y.txt",
                           lambda f: (_ for _ in ()).throw(RuntimeError()))
    assert sorted(os.listdir(tmp_path / "sub")) == ["x.txt"]


def test_write_json_and_text_read_back(tmp_path):
    files.write_json(tmp_path / "a.json", {"b": [1, 2.5, None], "a": "x"})
    text = (tmp_path / "a.json").read_text()
    assert json.loads(text) == {"a": "x", "b": [1, 2.5, None]}
    assert text.index('"a"') < text.index('"b"') and text.endswith("\n")  # sorted, one line end
    files.write_text(tmp_path / "a.json", "replaced")
    assert (tmp_path / "a.json").read_text() == "replaced"
    with pytest.raises(IsADirectoryError, match="is a directory"):
        files.write_text(tmp_path, "x")


def test_replaced_atomically_hands_over_a_name_with_the_target_suffix(tmp_path, umask_022):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    with files.replaced_atomically(target) as tmp:
        assert tmp.endswith(".keras") and os.path.dirname(tmp) == str(tmp_path)
        assert target.read_bytes() == b"old"  # untouched until the block ends
        with open(tmp, "wb") as f:  # a writer that opens the file itself, as model.save does
            f.write(b"new")
    assert target.read_bytes() == b"new"
    assert oct(os.stat(target).st_mode & 0o777) == oct(0o644)
    with pytest.raises(OSError, match="disk full"):
        with files.replaced_atomically(target) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise OSError("disk full")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_remove_interrupted_writes_removes_only_this_files_temporaries(tmp_path):
    target = tmp_path / "model.keras"
    with files.replaced_atomically(target) as tmp:  # what a SIGKILL mid-save leaves
        stale = os.path.basename(tmp)
        with open(tmp, "wb") as f:
            f.write(b"half")
        os.link(tmp, tmp_path / "kept")
    os.rename(tmp_path / "kept", tmp)  # the temporary file as a killed process left it
    (tmp_path / ".tmp-other.keras-abc.keras").write_bytes(b"another file's write")
    (tmp_path / "model.keras.bak").write_bytes(b"not a temporary")
    assert files.remove_interrupted_writes(target) == [stale]
    assert sorted(os.listdir(tmp_path)) == sorted(
        [".tmp-other.keras-abc.keras", "model.keras", "model.keras.bak"])
    assert files.remove_interrupted_writes(tmp_path / "absent" / "model.keras") == []
