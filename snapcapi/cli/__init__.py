"""The command line: flags to the library's `upload` and `validate`, and the helper commands."""
