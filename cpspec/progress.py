"""Progress bars on stderr for long work, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
from typing import Iterable

__all__ = ["progress"]


def progress(iterable: Iterable, total: int | None = None, desc: str = "",
             min_total: int = 200) -> Iterable:
    """``iterable``, wrapped in a tqdm bar when stderr is a terminal and the work is long
    (``total >= min_total``); otherwise unchanged, so logs and CI stay quiet.

    >>> list(progress(range(3), desc="demo"))
    [0, 1, 2]
    """
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if not sys.stderr.isatty() or (total is not None and total < min_total):
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False)
