"""`python -m snapcapi` runs the command line."""

from snapcapi.cli import main

if __name__ == "__main__":
    main()
