"""`python -m snapcapi` runs the command line."""


def run() -> None:
    """Run the command line. The import is here, not at the top: worker processes import this module
    again (as `__mp_main__`), and need none of the command line."""
    from snapcapi.cli.app import main

    main()


if __name__ == "__main__":
    run()
