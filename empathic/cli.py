"""Entry-point helper: every stage turns EmpathicError into one line and exit status 2."""
from __future__ import annotations

import sys
from typing import Callable

from .errors import EmpathicError


def run(main: Callable[[], int | None]) -> None:
    try:
        rc = main()
    except EmpathicError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(rc or 0)
