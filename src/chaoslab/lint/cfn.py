"""CloudFormation's `AWS::FIS::ExperimentTemplate` Properties, read as the FIS API body they become.

CloudFormation spells the template's fields in PascalCase (`Actions`, `StopConditions`,
`RoleArn`, `ResourceTags`) but leaves the user's own keys alone (action and target names, tag
keys, parameter names such as `duration`, action target keys such as `Instances`). `Tags` is a
map, as in the API. Scalars are taken as the strings CloudFormation passes on; an intrinsic
function (`Ref`, `Fn::Sub` …) becomes an `Unresolved` value the validator does not judge.
`to_api` also returns, for every API path, the path it came from, so issues point into the file.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from chaoslab.lint.source import join
from chaoslab.services.fis.validation import Issue, Unresolved

RESOURCE_TYPE = "AWS::FIS::ExperimentTemplate"


@dataclass(frozen=True)
class Names:
    """A map whose keys are the user's (action and target names): each value has this schema."""

    schema: dict[str, Any]


USER = "user"  # a map of the user's keys to strings (tags, parameters, action targets)
LIST = "list"  # a list of strings

_FILTER = {"Path": None, "Values": LIST}
_TARGET = {
    "ResourceType": None,
    "ResourceArns": LIST,
    "ResourceTags": USER,
    "Filters": [_FILTER],
    "SelectionMode": None,
    "Parameters": USER,
}
_ACTION = {"ActionId": None, "Description": None, "Parameters": USER, "Targets": USER, "StartAfter": LIST}
_S3 = {"BucketName": None, "Prefix": None}
SCHEMA: dict[str, Any] = {
    "Description": None,
    "RoleArn": None,
    "Tags": USER,
    "Targets": Names(_TARGET),
    "Actions": Names(_ACTION),
    "StopConditions": [{"Source": None, "Value": None}],
    "LogConfiguration": {
        "CloudWatchLogsConfiguration": {"LogGroupArn": None},
        "S3Configuration": _S3,
        "LogSchemaVersion": "int",
    },
    "ExperimentOptions": {"AccountTargeting": None, "EmptyTargetResolutionMode": None},
    "ExperimentReportConfiguration": {
        "Outputs": {"ExperimentReportS3Configuration": _S3},
        "DataSources": {"CloudWatchDashboards": [{"DashboardIdentifier": None}]},
        "PreExperimentDuration": None,
        "PostExperimentDuration": None,
    },
}
_RENAMES = {"ExperimentReportS3Configuration": "s3Configuration"}


def _field_names(schema: Any, out: dict[str, str]) -> dict[str, str]:
    """API name -> CloudFormation name of every property in `schema`."""
    if isinstance(schema, Names):
        return _field_names(schema.schema, out)
    if isinstance(schema, list):
        return _field_names(schema[0], out)
    if isinstance(schema, dict):
        for key, child in schema.items():
            out[_camel(key)] = key
            _field_names(child, out)
    return out


def is_intrinsic(value: Any) -> bool:
    """`{"Ref": …}`, `{"Fn::Sub": …}`, `{"Condition": …}`: a value CloudFormation computes."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and (next(iter(value)) in ("Ref", "Condition") or next(iter(value)).startswith("Fn::"))
    )


def _unresolved(value: Any) -> Unresolved:
    return Unresolved(json.dumps(value, separators=(",", ":"), default=str))


def _camel(key: str) -> str:
    return _RENAMES.get(key, key[:1].lower() + key[1:])


class _Converter:
    def __init__(self, source_prefix: str) -> None:
        self.prefix = source_prefix
        self.paths: dict[str, str] = {"": source_prefix}
        self.issues: list[Issue] = []

    def value(self, value: Any, schema: Any, api: str, src: str) -> Any:
        self.paths[api] = src
        if is_intrinsic(value):
            return _unresolved(value)
        if isinstance(schema, Names) and isinstance(value, dict):
            return {k: self.value(v, schema.schema, join(api, k), join(src, k)) for k, v in value.items()}
        if schema == USER and isinstance(value, dict):
            return {k: self.value(v, None, join(api, k), join(src, k)) for k, v in value.items()}
        if schema == LIST and isinstance(value, list):
            return [self.value(v, None, join(api, i), join(src, i)) for i, v in enumerate(value)]
        if isinstance(schema, list) and isinstance(value, list):
            return [self.value(v, schema[0], join(api, i), join(src, i)) for i, v in enumerate(value)]
        if isinstance(schema, dict) and isinstance(value, dict):
            return self.fields(value, schema, api, src)
        return self.scalar(value, schema)

    def fields(self, obj: dict[str, Any], schema: dict[str, Any], api: str, src: str) -> dict[str, Any]:
        out = {}
        for key, value in obj.items():
            if key not in schema:
                near = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
                self.issues.append(
                    Issue(
                        join(src, key),
                        f'"{key}" is not a property of {RESOURCE_TYPE}',
                        f'did you mean "{near[0]}"? CloudFormation spells properties in PascalCase'
                        if near
                        else f"properties here: {', '.join(schema)}",
                    )
                )
                continue
            name = _camel(key)
            out[name] = self.value(value, schema[key], join(api, name), join(src, key))
        return out

    @staticmethod
    def scalar(value: Any, schema: Any) -> Any:
        """What CloudFormation passes on: strings, except the integer LogSchemaVersion."""
        if schema == "int":
            return int(value) if isinstance(value, str) and value.isdigit() else value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return value


def to_api(properties: Any, source_prefix: str) -> tuple[Any, dict[str, str], list[Issue]]:
    """(API body, API path -> source path, property issues) for one resource's Properties."""
    converter = _Converter(source_prefix)
    if is_intrinsic(properties):
        return _unresolved(properties), converter.paths, []
    if not isinstance(properties, dict):
        return properties, converter.paths, []
    body = converter.fields(properties, SCHEMA, "", source_prefix)
    return body, converter.paths, converter.issues


PROPERTY_NAMES = _field_names(SCHEMA, {})
"""API field name -> its CloudFormation spelling (`stopConditions` -> `StopConditions`)."""
