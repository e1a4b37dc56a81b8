"""Cross-cutting infrastructure: settings, database, clock, jobs, logging, audit, errors."""
