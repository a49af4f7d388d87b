"""The ``smslab`` command: ``main`` dispatches; each other module is one subcommand's ``main(argv)``."""
