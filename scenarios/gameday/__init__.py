"""Game day: remediation steps performed by people. The harness pages, waits for the acknowledgement,
watches the target for the runbook's action and measures each step against the RTO (docs/gameday.md)."""
