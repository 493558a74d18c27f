"""Execute the tutorial notebooks (``docs/notebooks/*.ipynb``) from a clean kernel, as CI
does: a cell that raises (every notebook asserts its exact answers) fails the run.

Usage: ``python docs/run_notebooks.py [NOTEBOOK ...]`` (the ``docs`` extra installs
nbclient, nbformat and ipykernel). Executed copies are written to
``docs/_build/notebooks/`` for reading; the sources stay without outputs.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def run(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(HERE.parent)}}).execute()
    except CellExecutionError as exc:
        print(f"FAIL {path.name}\n{exc}")
        return False
    out = HERE / "_build" / "notebooks" / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    print(f"ok   {path.name} ({time.perf_counter() - t0:.1f} s)")
    return True


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((HERE / "notebooks").glob("*.ipynb"))
    results = [run(p) for p in paths]
    return 0 if paths and all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
