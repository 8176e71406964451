"""The progress REST API as the client speaks it (requests, batches, errors)."""
