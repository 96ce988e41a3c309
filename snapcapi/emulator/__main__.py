"""`python -m snapcapi.emulator` starts the emulator."""

from snapcapi.emulator.server import main

if __name__ == "__main__":
    raise SystemExit(main())
