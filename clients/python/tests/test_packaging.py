"""Building the package from this folder, as ``pip install ./clients/python`` does, leaves the
folder as it was: no build/ or *.egg-info, whose stale build/lib shipped deleted modules."""

from __future__ import annotations

import os
import subprocess
import sys

PACKAGE = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def tree(root: str) -> dict:
    """Every file and folder below ``root`` with its modification time, but caches and a
    virtual environment kept there (``.venv``, which running pip may touch)."""
    found = {}
    for directory, folders, files in os.walk(root):
        folders[:] = [name for name in folders if name not in ("__pycache__", ".venv")]
        for name in folders + files:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, root)] = os.stat(path).st_mtime_ns
    return found


def test_building_from_the_source_tree_writes_nothing_there(tmp_path):
    before = tree(PACKAGE)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
                    "--wheel-dir", str(tmp_path), PACKAGE], check=True)
    assert [name for name in os.listdir(tmp_path) if name.endswith(".whl")], os.listdir(tmp_path)
    assert tree(PACKAGE) == before
