"""The pipeline of a run: prepare records, commit batches, drain the outbox."""
