"""The environment in which `gazo` draws its output as it would in a terminal."""

#: Makes rich draw its live progress bar although stderr is a pipe, as it would in a terminal.
TERMINAL = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "100"}
