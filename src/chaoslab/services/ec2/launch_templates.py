"""Launch templates and their versions, with EC2's rules: versions are numbered from 1 and never
change; `$Latest` is the highest, `$Default` the one the template names (1 until
ModifyLaunchTemplate moves it); a new version may start from a source version's data, the
given members replacing the source's. Pure bookkeeping, no processes."""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.ids import hex_id

_NAME = re.compile(r"^[a-zA-Z0-9().\-/_]{3,128}$")


@dataclass
class Version:
    number: int
    data: dict[str, Any]
    description: str | None = None
    created: float = field(default_factory=time.time)


@dataclass
class LaunchTemplate:
    template_id: str
    name: str
    versions: list[Version] = field(default_factory=list)
    default: int = 1
    tags: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    @property
    def latest(self) -> int:
        return self.versions[-1].number

    def version(self, spec: str | int | None) -> Version:
        """`$Latest`, `$Default`, a number, or None (= `$Default`, as RunInstances and Auto Scaling take it)."""
        text = "$Default" if spec is None or spec == "" else str(spec)
        if text == "$Latest":
            return self.versions[-1]
        if text == "$Default":
            return self.versions[self.default - 1]
        if not text.isdigit():
            raise AwsError(
                "InvalidLaunchTemplateVersion",
                f"The version '{text}' is not valid: use a version number, $Latest or $Default.",
            )
        number = int(text)
        if not 1 <= number <= self.latest:
            raise AwsError(
                "InvalidLaunchTemplateId.VersionNotFound",
                f"Could not find launch template version {number} for template {self.template_id}.",
            )
        return self.versions[number - 1]


class LaunchTemplates:
    """The account's launch templates, by id; names are unique."""

    def __init__(self) -> None:
        self.templates: dict[str, LaunchTemplate] = {}

    def create(
        self,
        name: str,
        data: dict[str, Any],
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> LaunchTemplate:
        if not _NAME.match(name):
            raise AwsError(
                "InvalidLaunchTemplateName.MalformedException",
                "A launch template name must be 3-128 characters: letters, digits and ( ) . - / _",
            )
        if any(t.name == name for t in self.templates.values()):
            raise AwsError(
                "InvalidLaunchTemplateName.AlreadyExistsException",
                f"Launch template name already in use: {name}.",
            )
        template = LaunchTemplate("lt-" + hex_id(17), name, tags=dict(tags or {}))
        template.versions.append(Version(1, copy.deepcopy(data), description))
        self.templates[template.template_id] = template
        return template

    def get(self, template_id: str | None = None, name: str | None = None) -> LaunchTemplate:
        """By id or by name, exactly one of them."""
        if bool(template_id) == bool(name):
            raise AwsError(
                "InvalidParameterCombination" if template_id else "MissingParameter",
                "Specify either the launch template ID or the launch template name, not both.",
            )
        if template_id:
            found = self.templates.get(template_id)
            if found is None:
                raise AwsError(
                    "InvalidLaunchTemplateId.NotFound",
                    f"The specified launch template, with template ID {template_id}, does not exist.",
                )
            return found
        for template in self.templates.values():
            if template.name == name:
                return template
        raise AwsError(
            "InvalidLaunchTemplateName.NotFoundException",
            f"The specified launch template, with template name {name}, does not exist.",
        )

    def create_version(
        self,
        template: LaunchTemplate,
        data: dict[str, Any],
        source_version: str | None = None,
        description: str | None = None,
    ) -> Version:
        """The next number; with `source_version`, its data with `data`'s members replacing them."""
        base = copy.deepcopy(template.version(source_version).data) if source_version else {}
        base.update(copy.deepcopy(data))
        version = Version(template.latest + 1, base, description)
        template.versions.append(version)
        return version

    def set_default(self, template: LaunchTemplate, spec: str) -> None:
        template.default = template.version(spec).number

    def delete(self, template: LaunchTemplate) -> None:
        del self.templates[template.template_id]


def template_record(template: LaunchTemplate, account: str) -> dict[str, Any]:
    """DescribeLaunchTemplates' shape."""
    return {
        "LaunchTemplateId": template.template_id,
        "LaunchTemplateName": template.name,
        "CreateTime": datetime.fromtimestamp(template.created, UTC),
        "CreatedBy": f"arn:aws:iam::{account}:root",
        "DefaultVersionNumber": template.default,
        "LatestVersionNumber": template.latest,
        "Tags": [{"Key": k, "Value": v} for k, v in template.tags.items()],
    }


def version_record(template: LaunchTemplate, version: Version, account: str) -> dict[str, Any]:
    """DescribeLaunchTemplateVersions' shape."""
    record: dict[str, Any] = {
        "LaunchTemplateId": template.template_id,
        "LaunchTemplateName": template.name,
        "VersionNumber": version.number,
        "CreateTime": datetime.fromtimestamp(version.created, UTC),
        "CreatedBy": f"arn:aws:iam::{account}:root",
        "DefaultVersion": version.number == template.default,
        "LaunchTemplateData": copy.deepcopy(version.data),
    }
    if version.description is not None:
        record["VersionDescription"] = version.description
    return record


def launch_groups(data: dict[str, Any]) -> list[str]:
    """The security groups a launch asks for (ids, names, or its first interface's), as
    RunInstances and launch template data carry them."""
    refs = [*(data.get("SecurityGroupIds") or []), *(data.get("SecurityGroups") or [])]
    nics = data.get("NetworkInterfaces") or []
    if refs or not nics:
        return refs
    return list(nics[0].get("Groups") or [])
