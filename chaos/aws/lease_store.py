"""The lease of an aws target: one SSM parameter in the target's region, beside the fault markers.

`/hanbit-drill/drill.lease/<function>`: under the drill's SSM path (the drill role may write there), but
outside `/hanbit-drill/<function>/`, where preflight and cleanup look for fault markers (no Lambda
function name contains a '.', so no function's markers share the path). PutParameter without Overwrite
is atomic: of two drills starting at once, one creates it and the other gets ParameterAlreadyExists.
"""

from __future__ import annotations

from pydantic import ValidationError

from chaos.aws.clients import AwsClients
from chaos.aws.limits import SSM_PARAMETER_NAME, AwsLimitError
from chaos.lease import LeaseRecord

LEASE_LEVEL = "drill.lease"
DESCRIPTION = "hanbit-drill: the drill running against this function (one at a time); expires unless renewed"


def lease_parameter(prefix: str, function: str) -> str:
    name = f"{prefix.rstrip('/')}/{LEASE_LEVEL}/{function}"
    problems = SSM_PARAMETER_NAME.problems(name)
    if problems:
        raise AwsLimitError("cannot name the drill's lease parameter: " + "; ".join(problems))
    return name


def lease_plan(prefix: str, function: str) -> list[str]:
    """The calls a drill (and `cleanup --target`) makes on the lease, as plan lines: what the permission
    preflight asks IAM about."""
    name = lease_parameter(prefix, function)
    return [
        f"lease: ssm:PutParameter Name={name} Overwrite=false  (take; renewed with Overwrite=true)",
        f"lease: ssm:GetParameter Name={name}  (who holds it)",
        f"lease: ssm:DeleteParameter Name={name}  (release)",
    ]


class SsmLeaseStore:
    def __init__(self, clients: AwsClients, prefix: str, function: str, region: str) -> None:
        self.clients = clients
        self.name = lease_parameter(prefix, function)
        self.region = region
        self.where = f"SSM parameter {self.name} ({region})"

    def read(self) -> LeaseRecord | None:
        found = self.clients.call("ssm", "get_parameter", self.region, Name=self.name, ignore=("ParameterNotFound",))
        if found is None:
            return None
        value = found["Parameter"]["Value"]
        try:
            return LeaseRecord.model_validate_json(value)
        except ValidationError:
            # Not a record this harness wrote: stale, so it is taken over (and named in the report).
            version = found["Parameter"].get("Version", 0)
            return LeaseRecord(owner="unknown", host="?", pid=0, run_id="?", acquired_at=0.0, expires_at=0.0,
                               token=f"unreadable-{version}")

    def create(self, record: LeaseRecord) -> bool:
        made = self.clients.call("ssm", "put_parameter", self.region, Name=self.name, Value=record.model_dump_json(),
                                 Type="String", Overwrite=False, Description=DESCRIPTION,
                                 ignore=("ParameterAlreadyExists",))
        return made is not None

    def replace(self, record: LeaseRecord) -> None:
        self.clients.call("ssm", "put_parameter", self.region, Name=self.name, Value=record.model_dump_json(),
                          Type="String", Overwrite=True)

    def delete(self) -> None:
        self.clients.call("ssm", "delete_parameter", self.region, Name=self.name, ignore=("ParameterNotFound",))

