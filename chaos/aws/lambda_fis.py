"""Lambda invocation faults through FIS (`aws:lambda:invocation-*`).

The function's served version must carry the FIS Lambda extension layer and
its environment (see docs/aws.md); FIS writes the fault to S3 and the
extension applies it to invocations. Without FIS, `lambda.invocation-error`
falls back to a weighted alias routing the share to a bad version.
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from chaos.actions import ActionCall, AddLatency, HttpStatus, Percentage, SlowInvocations
from chaos.aws.checks import fis_problems, function_problems
from chaos.aws.context import ActionHandler, NamedCall, api, clean_up_failed_inject, marker_call
from chaos.aws.fis import FisExperiment
from chaos.aws.function import LambdaFunction, unqualified_arn
from chaos.aws.lambda_faults import BadVersionFault
from chaos.provider import Undo
from common.errors import ProviderError

FIS_ACTIONS = {
    "lambda.invocation-error": "aws:lambda:invocation-error",
    "lambda.add-latency": "aws:lambda:invocation-add-delay",
    "lambda.http-status": "aws:lambda:invocation-http-integration-response",
    # A delay past the function timeout is FIS's documented way to produce real timeouts.
    "lambda.slow-invocations": "aws:lambda:invocation-add-delay",
}


def fis_parameters(call: ActionCall) -> dict[str, str]:
    params = call.typed_params()
    assert isinstance(params, Percentage)
    out = {"invocationPercentage": str(int(params.percentage))}
    if isinstance(params, AddLatency):
        out["startupDelayMilliseconds"] = str(params.latency_ms)
    elif isinstance(params, SlowInvocations):
        out["startupDelayMilliseconds"] = str(params.duration_ms)
    elif isinstance(params, HttpStatus):
        out.update(statusCode=str(params.status_code), contentTypeHeader="application/json", preventExecution="true")
    else:  # invocation-error: fail without running the handler, so a failed write really is not made
        out["preventExecution"] = "true"
    return out


class FisLambdaFault(ActionHandler):
    actions = frozenset(FIS_ACTIONS)

    def _fallback(self, call: ActionCall) -> BadVersionFault | None:
        if call.name == "lambda.invocation-error" and not self.target.use_fis:
            return BadVersionFault(self.ctx)
        return None

    def marker(self, call: ActionCall) -> str:
        return self.ctx.markers.name(self.target.function, call.name)

    def template(self, call: ActionCall, function_arn: str) -> dict[str, Any]:
        return FisExperiment(self.ctx).template_params(
            action_id=FIS_ACTIONS[call.name],
            description=f"hanbit-drill {call.name} on {self.target.function}",
            resource_type="aws:lambda:function",
            target_key="Functions",
            resource_arns=[function_arn],
            parameters=fis_parameters(call),
            fault=call.name,
        )

    def named_calls(self, call: ActionCall) -> list[NamedCall]:
        if (fallback := self._fallback(call)) is not None:
            return fallback.named_calls(call)
        arn = f"arn:aws:lambda:{self.target.region}:123456789012:function:{self.target.function}"
        template = self.template(call, arn)
        return [
            *super().named_calls(call),
            marker_call(self.marker(call)),
            ("fis:CreateExperimentTemplate", template),
            ("fis:StartExperiment", {"tags": template["tags"]}),
        ]

    def preflight(self, call: ActionCall) -> list[str]:
        if (fallback := self._fallback(call)) is not None:
            return fallback.preflight(call)
        problems = []
        percentage = call.typed_params()
        if isinstance(percentage, Percentage) and percentage.percentage != int(percentage.percentage):
            problems.append(f"{call.name}: FIS takes a whole invocationPercentage (1-100), not {percentage.percentage}")
        found = function_problems(self.ctx)
        return problems + found + ([] if found else fis_problems(self.ctx, lambda_target=True))

    def plan(self, call: ActionCall) -> list[str]:
        if (fallback := self._fallback(call)) is not None:
            return ["(use_fis is false: a weighted alias sends the share to a bad version)", *fallback.plan(call)]
        fn = self.target.function
        return [
            "inject: " + api("lambda", "GetFunctionConfiguration", FunctionName=fn) + "  (function ARN)",
            "inject: " + api("ssm", "PutParameter", Name=self.marker(call), Value="<snapshot>"),
            *FisExperiment(self.ctx).plan(
                self.template(call, f"arn:aws:lambda:{self.target.region}:<account>:function:{fn}")
            ),
            "revert: " + api("ssm", "DeleteParameter", Name=self.marker(call)),
        ]

    def inject(self, call: ActionCall) -> Undo:
        if (fallback := self._fallback(call)) is not None:
            return fallback.inject(call)
        arn = unqualified_arn(LambdaFunction(self.ctx).configuration()["FunctionArn"])
        return start_fis_fault(self, self.template(call, arn), self.marker(call), {"function_arn": arn})

    def revert(self, call: ActionCall, undo: Undo) -> None:
        # The undo data says which way the fault was made (the target's use_fis may have changed since).
        undo = undo or self.ctx.markers.get(self.marker(call)) or {}
        if "bad_version" in undo:
            BadVersionFault(self.ctx).revert(call, undo)
        elif undo:
            stop_fis_fault(self, self.marker(call), undo)


def start_fis_fault(handler: ActionHandler, template: dict[str, Any], marker: str, extra: dict[str, JsonValue]) -> Undo:
    ctx = handler.ctx
    fis = FisExperiment(ctx)
    undo: dict[str, JsonValue] = {"region": fis.region, "template_id": None, "experiment_id": None, **extra}
    ctx.markers.put(marker, undo)
    try:
        return fis.start(template, undo, marker)
    except Exception as exc:
        # A failed start leaves no template or experiment behind.
        clean_up_failed_inject(ctx, exc, marker, lambda: fis.stop(undo))
        raise


def stop_fis_fault(handler: ActionHandler, marker: str, undo: Undo) -> None:
    ctx = handler.ctx
    undo = undo or ctx.markers.get(marker) or {}
    if not undo:
        return
    fis = FisExperiment(ctx, str(undo.get("region") or ctx.target.region))
    fis.stop(dict(undo))
    leftovers = fis.leftovers(dict(undo))
    if leftovers:
        raise ProviderError("revert left: " + "; ".join(leftovers))
    ctx.markers.delete(marker)
