"""AWS's documented naming and size rules, as code, for every name and value the provider generates.

moto accepts names AWS rejects (an SSM parameter name with `@`, a 300-character table name), so a
test against moto alone proves nothing about them. Every rule here cites where AWS states it; the
provider checks a call's parameters against them before making it (`check_call`, from
`AwsClients.call`), and preflight checks the names a scenario will generate before any fault.
Free text that only describes (a version description) is cut to fit instead (`fit`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from common.errors import ProviderError


class AwsLimitError(ProviderError):
    """A name or value breaks an AWS rule: the call was not made."""


@dataclass(frozen=True)
class Rule:
    what: str
    max_len: int
    min_len: int = 1
    pattern: str | None = None  # the whole value must match
    source: str = ""  # where AWS documents the rule
    extra: Callable[[str], str | None] | None = field(default=None, compare=False)
    utf8: bool = False  # the limit counts bytes, not characters

    def problems(self, value: object) -> list[str]:
        if not isinstance(value, str):
            return [f"{self.what} must be a string, not {type(value).__name__}"]
        size = len(value.encode()) if self.utf8 else len(value)
        unit = "bytes" if self.utf8 else "characters"
        shown = value if len(value) <= 80 else value[:77] + "..."
        out = []
        if size < self.min_len or size > self.max_len:
            out.append(
                f"{self.what} {shown!r} is {size} {unit}; AWS allows {self.min_len}-{self.max_len} ({self.source})"
            )
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            bad = sorted({c for c in value if not re.fullmatch(self.pattern, c)}) if len(self.pattern) < 40 else []
            which = f" (not allowed: {' '.join(repr(c) for c in bad)})" if bad else ""
            out.append(f"{self.what} {shown!r} does not match {self.pattern}{which} ({self.source})")
        if self.extra is not None and (found := self.extra(value)):
            out.append(f"{self.what} {shown!r}: {found} ({self.source})")
        return out


def _ssm_hierarchy(name: str) -> str | None:
    # "A parameter name can't be prefixed with aws or ssm (case-insensitive)"; a hierarchy starts with
    # "/" and is at most fifteen levels deep.
    first = name.lstrip("/").split("/", 1)[0].lower()
    if first.startswith(("aws", "ssm")):
        return "names may not start with 'aws' or 'ssm'"
    if "/" in name and not name.startswith("/"):
        return "a hierarchical name must start with '/'"
    levels = len([p for p in name.split("/") if p])
    if levels > 15:
        return f"{levels} levels; hierarchies are limited to 15"
    if "//" in name or name.endswith("/"):
        return "empty hierarchy level"
    return None


_SSM = "SSM PutParameter, Name: a-zA-Z0-9_.- and '/', 2048 incl. 1037 reserved, <= 15 levels"
SSM_PARAMETER_NAME = Rule("SSM parameter name", 1011, pattern=r"[a-zA-Z0-9_.\-/]+", source=_SSM, extra=_ssm_hierarchy)
# Reads may name AWS's own public parameters (/aws/service/...), which no one may create.
SSM_PARAMETER_REF = Rule("SSM parameter name", 1011, pattern=r"[a-zA-Z0-9_.\-/]+", source=_SSM)
# Standard-tier parameter values hold 4 KB (advanced tier 8 KB, at a charge; markers stay standard).
SSM_PARAMETER_VALUE = Rule("SSM parameter value", 4096, utf8=True, source="SSM parameter tiers: standard value 4 KB")
SSM_DESCRIPTION = Rule("SSM parameter description", 1024, min_len=0, source="SSM PutParameter, Description: 0-1024")
DYNAMODB_TABLE_NAME = Rule(
    "DynamoDB table name",
    255,
    min_len=3,
    pattern=r"[a-zA-Z0-9_.\-]+",
    source="DynamoDB naming rules: 3-255 of a-zA-Z0-9_.-",
)
DYNAMODB_BACKUP_NAME = Rule(
    "DynamoDB backup name",
    255,
    min_len=3,
    pattern=r"[a-zA-Z0-9_.\-]+",
    source="DynamoDB CreateBackup, BackupName: 3-255",
)
LAMBDA_FUNCTION_NAME = Rule(
    "Lambda function name",
    64,
    pattern=r"[a-zA-Z0-9\-_]+",
    source="Lambda CreateFunction, FunctionName: 1-64 of a-zA-Z0-9-_",
)
LAMBDA_ALIAS_NAME = Rule(
    "Lambda alias name",
    128,
    pattern=r"(?!^[0-9]+$)([a-zA-Z0-9\-_]+)",
    source="Lambda CreateAlias, Name: 1-128, not all digits",
)
LAMBDA_DESCRIPTION = Rule(
    "Lambda version description", 256, min_len=0, source="Lambda PublishVersion, Description: 0-256"
)
FIS_TAG_KEY = Rule("FIS tag key", 128, source="FIS Tag key: 1-128")
FIS_TAG_VALUE = Rule("FIS tag value", 256, min_len=0, source="FIS Tag value: 0-256")
FIS_DESCRIPTION = Rule("FIS experiment template description", 512, source="FIS CreateExperimentTemplate: 1-512")
FIS_ACTION_PARAMETER = Rule(
    "FIS action parameter value",
    1024,
    pattern=r"\S+",
    source="FIS ExperimentTemplateActionParameter: 1-1024, no spaces",
)
CLOUDWATCH_ALARM_NAME = Rule(
    "CloudWatch alarm name",
    255,
    pattern=r"[^\x00-\x1f\x7f]+",
    source="CloudWatch PutMetricAlarm, AlarmName: 1-255, no control characters",
)

# Which parameters of which call each rule governs. Paths: "Name", "Tags.*.Key", "tags.*" (map values),
# "tags.<keys>" (map keys), "actions.*.parameters.*".
CALL_RULES: dict[str, dict[str, Rule]] = {
    "ssm:PutParameter": {"Name": SSM_PARAMETER_NAME, "Value": SSM_PARAMETER_VALUE, "Description": SSM_DESCRIPTION},
    "ssm:GetParameter": {"Name": SSM_PARAMETER_REF},
    "ssm:DeleteParameter": {"Name": SSM_PARAMETER_REF},
    "ssm:GetParametersByPath": {"Path": SSM_PARAMETER_REF},
    "dynamodb:CreateBackup": {"TableName": DYNAMODB_TABLE_NAME, "BackupName": DYNAMODB_BACKUP_NAME},
    "dynamodb:RestoreTableToPointInTime": {
        "SourceTableName": DYNAMODB_TABLE_NAME,
        "TargetTableName": DYNAMODB_TABLE_NAME,
    },
    "dynamodb:RestoreTableFromBackup": {"TargetTableName": DYNAMODB_TABLE_NAME},
    "dynamodb:DescribeTable": {"TableName": DYNAMODB_TABLE_NAME},
    "dynamodb:UpdateTable": {"TableName": DYNAMODB_TABLE_NAME},
    "dynamodb:UpdateContinuousBackups": {"TableName": DYNAMODB_TABLE_NAME},
    "dynamodb:UpdateTimeToLive": {"TableName": DYNAMODB_TABLE_NAME},
    "dynamodb:Scan": {"TableName": DYNAMODB_TABLE_NAME},
    "dynamodb:UpdateItem": {"TableName": DYNAMODB_TABLE_NAME},
    "dynamodb:PutItem": {"TableName": DYNAMODB_TABLE_NAME},
    "dynamodb:DeleteItem": {"TableName": DYNAMODB_TABLE_NAME},
    "lambda:UpdateAlias": {"Name": LAMBDA_ALIAS_NAME, "FunctionName": LAMBDA_FUNCTION_NAME},
    "lambda:GetAlias": {"Name": LAMBDA_ALIAS_NAME, "FunctionName": LAMBDA_FUNCTION_NAME},
    "lambda:PublishVersion": {"Description": LAMBDA_DESCRIPTION, "FunctionName": LAMBDA_FUNCTION_NAME},
    "lambda:PutFunctionConcurrency": {"FunctionName": LAMBDA_FUNCTION_NAME},
    "lambda:UpdateFunctionConfiguration": {"FunctionName": LAMBDA_FUNCTION_NAME},
    "fis:CreateExperimentTemplate": {
        "description": FIS_DESCRIPTION,
        "tags.<keys>": FIS_TAG_KEY,
        "tags.*": FIS_TAG_VALUE,
        "actions.*.parameters.*": FIS_ACTION_PARAMETER,
    },
    "fis:StartExperiment": {"tags.<keys>": FIS_TAG_KEY, "tags.*": FIS_TAG_VALUE},
    "cloudwatch:DescribeAlarms": {"AlarmNames.*": CLOUDWATCH_ALARM_NAME},
}


def _values(value: Any, path: list[str]) -> Iterator[Any]:
    """The values at `path` below `value` ("*" every element or map value, "<keys>" every map key)."""
    if not path:
        yield value
        return
    head, rest = path[0], path[1:]
    if head == "*":
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
        for item in items:
            yield from _values(item, rest)
    elif head == "<keys>":
        if isinstance(value, dict):
            yield from value.keys()
    elif isinstance(value, dict) and head in value:
        yield from _values(value[head], rest)


def call_problems(api: str, params: dict[str, Any]) -> list[str]:
    """Every rule the parameters of `api` (e.g. "ssm:PutParameter") break."""
    problems = []
    for path, rule in CALL_RULES.get(api, {}).items():
        for value in _values(params, path.split(".")):
            problems += rule.problems(value)
    return problems


def check_call(api: str, params: dict[str, Any]) -> None:
    """Raise before a call AWS would refuse (ValidationException) for one of these rules."""
    problems = call_problems(api, params)
    if problems:
        raise AwsLimitError(f"AWS {api} not called: " + "; ".join(problems))


def fit(text: str, rule: Rule) -> str:
    """Descriptive free text cut to the rule's length (names are never cut: they must be exact)."""
    if rule.utf8:
        return text.encode()[: rule.max_len].decode(errors="ignore")
    return text if len(text) <= rule.max_len else text[: rule.max_len - 3] + "..."
