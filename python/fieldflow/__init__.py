"""fieldflow from Python: generative ODEs that follow force fields.

The functions mirror the ``fieldflow`` command line with the same names, defaults
and seeds, so that a call here and the command line give the same bits. Arrays go
in and out of Rust without copies (float64 input, any memory order; other dtypes
are converted once), the GIL is released while Rust works, and library errors are
Python exceptions (``ValueError`` for bad arguments, ``FileNotFoundError`` /
``OSError`` for files, ``KeyboardInterrupt`` on Ctrl-C). See docs/PYTHON.md.
"""

from ._native import Report, __version__, check, datasets

__all__ = ["Report", "__version__", "check", "datasets"]
