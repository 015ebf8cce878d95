"""rsd/atomic.py: the whole file or nothing, the mode kept, and a killed process's temporary files swept."""

import os
import stat
import subprocess
import sys

import pytest

from rsd.atomic import replacing, sweep_stale, temp_beside, write_atomically


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _dead_pid():
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(p.stdout)


def test_a_new_file_is_private_and_an_existing_one_keeps_its_mode(tmp_path):
    new = tmp_path / "new.json"
    write_atomically(new, "{}\n")
    assert new.read_text() == "{}\n" and _mode(new) == 0o600
    old = tmp_path / "old.csv"
    old.write_text("a\n")
    os.chmod(old, 0o644)
    write_atomically(old, b"b\n")
    assert old.read_bytes() == b"b\n" and _mode(old) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "old.csv"]


def test_a_failure_leaves_the_previous_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("previous")
    with pytest.raises(RuntimeError):
        with replacing(target) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_symlink_is_followed_and_its_target_replaced(tmp_path):
    real = tmp_path / "token"
    real.write_text("old")
    link = tmp_path / "link"
    link.symlink_to(real)
    write_atomically(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_temporary_files_of_dead_processes_are_swept_and_live_ones_kept(tmp_path):
    target = str(tmp_path / "out.parquet")
    dead = tmp_path / f".out.parquet.{_dead_pid()}.abc123.rsd-tmp"
    live = tmp_path / f".out.parquet.{os.getppid()}.def456.rsd-tmp"  # pytest's parent: alive
    other = tmp_path / f".other.parquet.{_dead_pid()}.ghi789.rsd-tmp"  # another target's: not ours to remove
    for p in (dead, live, other):
        p.write_bytes(b"partial")
    fd, tmp = temp_beside(target)
    os.close(fd)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert dead.name not in names and live.name in names and other.name in names
    assert os.path.basename(tmp).startswith(f".out.parquet.{os.getpid()}.") and tmp.endswith(".rsd-tmp")
    assert sweep_stale(str(tmp_path), "out.parquet") == []  # our own (alive) and the live one stay
