"""snapcapi: upload conversion events from files to Snap's Conversions API v3."""

__version__ = "0.1.0"
