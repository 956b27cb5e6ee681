"""Fault markers in SSM Parameter Store: the snapshot of a fault, kept in the account itself.

A marker is written *before* a fault changes anything and deleted when the
fault is reverted. It is what lets `revert` undo a fault whose inject was cut
short (harness killed between the change and the journal write: the journal
then holds an empty undo), and what preflight uses to spot a fault an earlier,
crashed drill left in place. Markers hold the same JSON as the undo data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import JsonValue

from chaos.aws.clients import AwsClients

# Standard-tier parameters hold 4 KB; bigger snapshots are stored as a summary with "truncated": true.
MAX_VALUE_CHARS = 4096


@dataclass(frozen=True)
class Marker:
    name: str
    data: dict[str, JsonValue]


class FaultMarkers:
    def __init__(self, clients: AwsClients, prefix: str, region: str) -> None:
        self.clients = clients
        self.prefix = prefix.rstrip("/")
        self.region = region

    def name(self, scope: str, key: str) -> str:
        return f"{self.prefix}/{scope}/{key}"

    def put(self, name: str, data: dict[str, JsonValue], summary: dict[str, JsonValue] | None = None) -> None:
        value = json.dumps(data, sort_keys=True, separators=(",", ":"))
        if len(value) > MAX_VALUE_CHARS:
            value = json.dumps({**(summary or {}), "truncated": True}, sort_keys=True, separators=(",", ":"))
        self.clients.call(
            "ssm",
            "put_parameter",
            self.region,
            Name=name,
            Value=value,
            Type="String",
            Overwrite=True,
            Description="hanbit-drill fault in effect: snapshot to revert it (deleted on revert)",
        )

    def get(self, name: str) -> dict[str, JsonValue] | None:
        found = self.clients.call("ssm", "get_parameter", self.region, Name=name, ignore=("ParameterNotFound",))
        if found is None:
            return None
        return json.loads(found["Parameter"]["Value"])

    def delete(self, name: str) -> None:
        self.clients.call("ssm", "delete_parameter", self.region, Name=name, ignore=("ParameterNotFound",))

    def list(self, scope: str) -> list[Marker]:
        markers = []
        for page in self.clients.paginate(
            "ssm", "get_parameters_by_path", self.region, Path=f"{self.prefix}/{scope}", Recursive=True
        ):
            for param in page.get("Parameters", []):
                markers.append(Marker(param["Name"], json.loads(param["Value"])))
        return markers
