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
from chaos.aws.limits import SSM_PARAMETER_NAME, SSM_PARAMETER_VALUE, AwsLimitError

# Standard-tier parameters hold 4 KB; bigger snapshots are stored as a summary with "truncated": true.
MAX_VALUE_CHARS = SSM_PARAMETER_VALUE.max_len
DESCRIPTION = "hanbit-drill fault in effect: snapshot to revert it (deleted on revert)"


@dataclass(frozen=True)
class Marker:
    name: str
    data: dict[str, JsonValue]


class FaultMarkers:
    def __init__(self, clients: AwsClients, prefix: str, region: str) -> None:
        self.clients = clients
        self.prefix = prefix.rstrip("/")
        self.region = region

    def name(self, scope: str, action: str, resource: str | None = None) -> str:
        """`<prefix>/<function>/<action>[/<resource>]`: the resource (a region, a table) is one more level
        of the hierarchy, because SSM names allow only a-zA-Z0-9_.- and '/' (no '@', no ':')."""
        name = "/".join([self.prefix, scope, action, *([resource] if resource else [])])
        problems = SSM_PARAMETER_NAME.problems(name)
        if problems:
            raise AwsLimitError("cannot name the fault marker: " + "; ".join(problems))
        return name

    def put(self, name: str, data: dict[str, JsonValue], summary: dict[str, JsonValue] | None = None) -> None:
        value = json.dumps(data, sort_keys=True, separators=(",", ":"))
        if SSM_PARAMETER_VALUE.problems(value):
            value = json.dumps({**(summary or {}), "truncated": True}, sort_keys=True, separators=(",", ":"))
        self.clients.call(
            "ssm",
            "put_parameter",
            self.region,
            Name=name,
            Value=value,
            Type="String",
            Overwrite=True,
            Description=DESCRIPTION,
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
