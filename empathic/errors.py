"""Errors that end a stage with one clear line instead of a traceback."""


class EmpathicError(Exception):
    """A user-facing error: bad params, bad paths, bad input files, too many failures.

    The message must say what is wrong and, where it helps, which file/line or which
    param to change. Stages print it as a single line and exit with status 2.
    """


class ParamError(EmpathicError):
    """A param in params.yaml is missing or has a bad value."""


class CorpusError(EmpathicError):
    """A corpus file is missing or cannot be parsed (message names file and line)."""


class TooManyFailures(EmpathicError):
    """The failed fraction of an extraction passed its threshold."""
