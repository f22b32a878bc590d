"""The one exception type users see: a one-line message naming the problem and the fix."""


class TTFSError(Exception):
    """A user-facing error. ``str(err)`` is one line: what is wrong, then how to fix it."""

    def __init__(self, problem: str, fix: str = "") -> None:
        message = problem.rstrip(".") + (f"; {fix}" if fix else "")
        super().__init__(message.replace("\n", " "))
