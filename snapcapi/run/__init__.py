"""Running: the pipeline that ties reading, building, duplicates, the ledger and sending; its workers."""
