"""Reading: input files (CSV, TSV, JSON Lines, gzip, stdin) as a stream of `Row`s."""
