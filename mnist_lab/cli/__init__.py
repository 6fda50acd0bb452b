"""``python -m mnist_lab``: the command line, one module per group of subcommands.

`main` builds the parser and runs a subcommand. Each subcommand has an ``add_<name>_parser``
that declares its flags and a ``cmd_<name>`` that runs it and returns the exit code:
`train` (``train``, ``baseline``), `runs`, `datasets` (``dataset``), `export`, `sweep`, and
`internal` (``worker``, ``dispatch``, ``sweep-driver``: what the lab starts in the
background). The flags of a launch are made from the engines' declared settings
(`settings_flags`), so a flag's default, range and help are the ones the Train page shows.
"""
