"""The `siting` command: argument parsing, one line per error, exit codes.

The top of the house: may import every layer, but loads the heavy ones only inside the
subcommand that needs them, so `siting --help` stays fast.
"""
