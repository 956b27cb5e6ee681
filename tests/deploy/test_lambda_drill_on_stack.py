"""The manual's scenario 1 end to end on the stacks the templates create (a deployment of this module's own)."""

from __future__ import annotations

from chaos.actions import ActionCall
from chaos.aws.provider import AwsProvider
from chaos.provider import InjectedFault, RemediationContext

from .test_drills_on_stacks import target_of


def test_the_lambda_failure_drill_runs_on_the_reference_stack(deployed) -> None:
    """The manual's scenario 1 end to end on what the template created: bad version to LIVE, rollback, revert."""
    provider = AwsProvider(target_of(deployed), deployed.session)
    fault = ActionCall(name="lambda.deploy-bad-version")
    fix = ActionCall(name="lambda.rollback", params={"alias": "LIVE"})
    lam = deployed.client("lambda")
    try:
        undo = provider.inject(fault)
        assert lam.get_alias(FunctionName="todo-api", Name="LIVE")["FunctionVersion"] == undo["bad_version"] == "2"
        context = RemediationContext(fault_at=1.0, faults=(InjectedFault(id="f0", action=fault.name, undo=undo),))
        assert provider.remediate(fix, context)["to_version"] == "1"
        provider.revert(fault, undo)
    finally:
        provider.close()
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName="todo-api")["Versions"]]
    assert versions == ["$LATEST", "1"]
    assert lam.get_function_configuration(FunctionName="todo-api")["Handler"] == "service.api.lambda_entry.handler"
