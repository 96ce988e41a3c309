"""Building events: columns to fields, Snap's checks, normalizing and hashing identifiers, encoding."""
