"""The ground every package of the harness stands on: errors, durations. It imports none of them."""
