"""The one exception type the command line turns into a clean error line."""


class UserError(ValueError):
    """Bad user input (a name, a value, a path): the CLI prints it as one line, exit 2."""
