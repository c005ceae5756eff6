r"""Data in: the built-in example and the file loaders of the command line and of sweeps.

Samples are rows at this boundary (docs/design.md §1): ``X`` is (N, d) and ``Y`` is (N, k), or
integer labels (N,) for cross-entropy.  Every loader error is a ``ValueError`` whose message is
one line naming the file and what was wrong with it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["demo_data", "load_npz", "load_csv", "load_xy"]


def demo_data(N: int = 40, seed: int = 0):
    r"""The built-in example: N 2-D points on two interleaved spirals and two outputs.

    Parameters
    ----------
    N : int
        Number of points (alternating between the two spirals).
    seed : int
        Seed of the radii and of the small input noise.

    Returns
    -------
    X : ndarray (N, 2)
    Y : ndarray (N, 2)
        Column 0 is the spiral's sign (±1), column 1 the smooth function cos(3r) of the radius.
    """
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1.0, N)) * 2.5 * np.pi
    cls = np.arange(N) % 2
    r = t / (2.5 * np.pi)
    X = np.stack([r * np.cos(t + np.pi * cls), r * np.sin(t + np.pi * cls)], axis=1)
    X += 0.02 * rng.standard_normal(X.shape)
    Y = np.stack([2.0 * cls - 1.0, np.cos(3 * r)], axis=1)
    return X, Y


def _existing_file(path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{what}: no such file {str(p)!r}")
    if p.is_dir():
        raise ValueError(f"{what}: {str(p)!r} is a directory, expected a file")
    if p.stat().st_size == 0:
        raise ValueError(f"{what}: {str(p)!r} is empty")
    return p


def load_npz(path, what: str = "data"):
    r"""``(X, Y)`` from an ``.npz`` holding arrays ``X`` (N×d) and ``Y`` (N×k or N labels).

    Raises
    ------
    ValueError
        Missing, empty or unreadable file, or arrays ``X`` / ``Y`` missing (one-line message).
    """
    p = _existing_file(path, what)
    try:
        with np.load(p, allow_pickle=False) as f:
            files = list(f.files)
            missing = [key for key in ("X", "Y") if key not in files]
            if missing:
                raise ValueError(f"{what}: {str(p)!r} must hold arrays 'X' (N×d) and 'Y' (N×k); missing {missing}")
            return np.asarray(f["X"]), np.asarray(f["Y"])
    except ValueError as exc:
        if str(exc).startswith(f"{what}:"):
            raise
        raise ValueError(f"{what}: cannot read {str(p)!r} as .npz ({_one_line(exc)})") from exc
    except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError…: all mean "not an npz"
        raise ValueError(f"{what}: cannot read {str(p)!r} as .npz ({type(exc).__name__}: {_one_line(exc)})") from exc


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def load_csv(path, what: str = "csv") -> np.ndarray:
    r"""A numeric CSV (comma-separated) as a 2-D float array, with or without a header row.

    The first row is a header when one of its fields is not a number (e.g. ``x1,x2``); it is
    skipped.  Blank lines and lines starting with ``#`` are ignored.

    Raises
    ------
    ValueError
        Missing or empty file, no data rows, ragged rows or a non-numeric entry (one line,
        with the row number where numpy reports it).
    """
    p = _existing_file(path, what)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what}: cannot read {str(p)!r} as text ({_one_line(exc)})") from exc
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{what}: {str(p)!r} has no data rows")
    header = not all(_is_number(field.strip()) for field in lines[0].split(","))
    rows = lines[1:] if header else lines
    if not rows:
        raise ValueError(f"{what}: {str(p)!r} has a header row but no data rows")
    try:
        A = np.loadtxt(rows, delimiter=",", ndmin=2, dtype=float)
    except ValueError as exc:
        raise ValueError(f"{what}: {str(p)!r} is not a numeric CSV ({_one_line(exc)})") from exc
    return A


def load_xy(data=None, *, x=None, y=None, cost: str = "mse"):
    r"""``(X, Y)`` from one ``.npz`` (``data``) or two CSV files (``x``, ``y``).

    A one-column ``Y`` CSV becomes labels (N,) for ``cost="cross_entropy"`` and a column
    (N, 1) otherwise.
    """
    if data is not None:
        if x is not None or y is not None:
            raise ValueError("data: give either a .npz file or --x/--y CSV files, not both")
        if str(data).endswith(".csv"):
            raise ValueError("data: for CSV give two files: --x X.csv and --y Y.csv (or one .npz)")
        if not str(data).endswith(".npz"):
            raise ValueError(f"data: expected a .npz file (arrays X, Y) or --x/--y CSV files, got {str(data)!r}")
        return load_npz(data)
    if x is None or y is None:
        raise ValueError("data: give a .npz file, or both --x and --y CSV files")
    X = load_csv(x, "--x")
    Y = load_csv(y, "--y")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"--y: expected {X.shape[0]} rows (one per row of --x), got {Y.shape[0]}")
    if cost == "cross_entropy" and Y.shape[1] == 1:
        Y = Y[:, 0]
    return X, Y
