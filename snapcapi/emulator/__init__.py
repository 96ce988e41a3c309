"""The emulator of Snap's Conversions API: a test and demo tool, not part of the product.

snapcapi imports it only for `--sandbox` and `snapcapi mock-server`; users start it in their own tests as
`python -m snapcapi.emulator --port 0`, or in process with `Emulator(EmulatorConfig(...)).start()`.
"""

from snapcapi.emulator.config import OPTIONS, EmulatorConfig, EmulatorOption, config_from_options
from snapcapi.emulator.http import redact
from snapcapi.emulator.server import DEFAULT_HOST, LISTENING, Emulator, build_parser, main

__all__ = [
    "DEFAULT_HOST",
    "LISTENING",
    "OPTIONS",
    "Emulator",
    "EmulatorConfig",
    "EmulatorOption",
    "build_parser",
    "config_from_options",
    "main",
    "redact",
]
