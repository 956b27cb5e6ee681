"""Table operations of the bundled service (the DynamoDB role): backups, restores, corruption, throttling."""
