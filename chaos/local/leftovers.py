"""What drills left on a running bundled service, read from its control plane alone (`cleanup --target serve`).

Only states no deployment is in on purpose are leftovers: an injected function fault, a region not up,
replication paused, tokens expired by a not-before time, a table throttle, a corruption not put back.
Each is undone the way its fault's revert undoes it, without the snapshot a journal holds: a corruption
is put back from the service's own record of it. What a runbook step left (a failover, a restored table,
LIVE on another version) is the service's state now, not a leftover.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos.local.control_client import ControlClient
from chaos.provider import Leftover
from common.errors import ProviderError

Clear = Callable[[ControlClient, str], None]

# kind -> how to undo it (the name is the fault kind, region, table or corruption id)
CLEAR: dict[str, Clear] = {
    "function fault": lambda c, name: c.delete(f"/control/function/faults/{name}"),
    "region outage": lambda c, name: c.put(f"/control/regions/{name}", {"status": "up"}),
    "replication pause": lambda c, name: c.put("/control/replication", {"paused": False}),
    "token expiry": lambda c, name: c.delete("/control/auth/not-before"),
    "table throttle": lambda c, name: c.delete("/control/table/throttle"),
    "table corruption": lambda c, name: c.delete(f"/control/table/corrupt/{name}"),
}


class BundledLeftovers:
    def __init__(self, client: ControlClient) -> None:
        self.client = client

    def find(self) -> list[Leftover]:
        state = self.client.get("/control/state")
        found = [Leftover("function fault", kind, f"injected {kind} fault still active: {params}")
                 for kind, params in (state.get("function", {}).get("faults") or {}).items()]
        found += [Leftover("region outage", name, f"region {name} is {region.get('status')}")
                  for name, region in (state.get("regions") or {}).items() if region.get("status") != "up"]
        if (state.get("replication") or {}).get("paused"):
            found.append(Leftover("replication pause", "replication", "replication between the regions is paused"))
        if (state.get("auth") or {}).get("not_before"):
            found.append(Leftover("token expiry", "auth", "tokens issued before a not-before time are refused (401)"))
        table: dict[str, Any] = state.get("table") or {}
        found += [Leftover("table throttle", name, f"table {name} throttled to {limits}")
                  for name, limits in (table.get("throttle") or {}).items()]
        found += [Leftover("table corruption", str(c["corruption"]), f"{c.get('items')} item(s) of {c.get('table')} "
                           f"corrupted ({c.get('by_mode')})")
                  for c in table.get("corruptions") or [] if c.get("reverted_at") is None]
        return found

    def clear(self, leftover: Leftover) -> str:
        undo = CLEAR.get(leftover.kind)
        if undo is None:
            raise ProviderError(f"{leftover.kind} {leftover.name}: not a leftover of the bundled service")
        undo(self.client, leftover.name)
        if any((left.kind, left.name) == (leftover.kind, leftover.name) for left in self.find()):
            raise ProviderError(f"{leftover.kind} {leftover.name} is still there after clearing it")
        return f"cleared the {leftover.kind} {leftover.name}"
