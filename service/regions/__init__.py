"""Two regions of the bundled service: processes, replication between them, and the edge in front."""
