"""write_output: every --out writes into what the user named, atomically where that is a file."""

from __future__ import annotations

import errno
import os
import socket
import stat

import pytest

from explorer.core.atomic import write_output
from explorer.core.errors import InputError


def hello(fh):
    fh.write(b"hello")


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_new_file_gets_the_umask_s_permissions_and_an_old_one_keeps_its_own(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_output(tmp_path / "sub" / "a.json", hello)
        assert path.read_bytes() == b"hello"
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o600)
        write_output(path, lambda fh: fh.write(b"again"))
        assert path.read_bytes() == b"again" and stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(umask)
    assert leftovers(path.parent) == []


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path):
    target = tmp_path / "real.json"
    target.write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert write_output(link, hello) == link
    assert link.is_symlink() and target.read_bytes() == b"hello"
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "new.json")
    write_output(dangling, hello)
    assert dangling.is_symlink() and (tmp_path / "new.json").read_bytes() == b"hello"


def test_a_folder_or_a_socket_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        write_output(tmp_path, hello)
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(InputError, match="is a socket"):
            write_output(sock_path, hello)
    assert stat.S_ISSOCK(sock_path.stat().st_mode)


def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader waiting, as in `cmd > pipe`
    try:
        write_output(fifo, hello)
        assert os.read(reader, 100) == b"hello"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def _device(tmp_path, name, minor):
    path = tmp_path / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return path


def test_a_device_is_written_into_and_stays_a_device(tmp_path):
    null = _device(tmp_path, "null", 3)  # the same device as /dev/null, in a folder of our own
    write_output(null, hello)
    assert stat.S_ISCHR(null.stat().st_mode)
    full = _device(tmp_path, "full", 7)  # /dev/full: every write fails with ENOSPC
    with pytest.raises(InputError) as caught:
        write_output(full, lambda fh: fh.write(b"x" * 100_000))
    assert str(caught.value) == f"{full}: cannot write into it (No space left on device)"
    assert stat.S_ISCHR(full.stat().st_mode) and leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b"old")

    def half_then_full(fh):
        fh.write(b"ha")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(InputError, match=f"the disk holding the folder {tmp_path} is full"):
        write_output(path, half_then_full)
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_read_only_folder_is_one_sentence(tmp_path, monkeypatch):
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(InputError) as caught:
        write_output(tmp_path / "a.parquet", hello)
    assert str(caught.value) == f"the folder {tmp_path} is not writable (Read-only file system)"
