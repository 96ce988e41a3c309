"""Sending: the HTTP client, batching and retries, and the delivery ledger."""
