"""The one exception type users see: a single line saying what is wrong and how to fix it."""


class MesochatError(Exception):
    """A user-facing error. str(err) is one line; the CLI prints it without a traceback."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
