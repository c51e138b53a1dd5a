"""EC2 launch template operations: create, version, describe, set the default, delete."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.services.ec2.launch_templates import LaunchTemplate, LaunchTemplates, template_record, version_record
from chaoslab.services.ec2.paging import PAGES, VERSION_PAGES, page
from chaoslab.services.ec2.userdata import decode_user_data
from chaoslab.types import ApiHandler


def _store(ctx: Ctx) -> LaunchTemplates:
    store: LaunchTemplates = ctx.lab.ec2.launch_templates
    return store


def _template(ctx: Ctx, p: dict[str, Any]) -> LaunchTemplate:
    return _store(ctx).get(p.get("LaunchTemplateId"), p.get("LaunchTemplateName"))


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    """User data must decode when the template is saved, as EC2 checks it then."""
    if data.get("UserData"):
        decode_user_data(data["UserData"])
    return data


def _tags(p: dict[str, Any], resource_type: str) -> dict[str, str]:
    return {
        t["Key"]: t.get("Value", "")
        for spec in p.get("TagSpecifications") or []
        if spec.get("ResourceType") == resource_type
        for t in spec.get("Tags") or []
    }


def create_launch_template(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    template = _store(ctx).create(
        p["LaunchTemplateName"],
        _checked(p["LaunchTemplateData"]),
        p.get("VersionDescription"),
        _tags(p, "launch-template"),
    )
    return {"LaunchTemplate": template_record(template, ctx.account_id)}


def create_launch_template_version(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    template = _template(ctx, p)
    version = _store(ctx).create_version(
        template, _checked(p["LaunchTemplateData"]), p.get("SourceVersion"), p.get("VersionDescription")
    )
    return {"LaunchTemplateVersion": version_record(template, version, ctx.account_id)}


def modify_launch_template(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    template = _template(ctx, p)
    if p.get("DefaultVersion"):
        _store(ctx).set_default(template, p["DefaultVersion"])
    return {"LaunchTemplate": template_record(template, ctx.account_id)}


def delete_launch_template(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    template = _template(ctx, p)
    _store(ctx).delete(template)
    return {"LaunchTemplate": template_record(template, ctx.account_id)}


def describe_launch_templates(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    store = _store(ctx)
    ids, names = p.get("LaunchTemplateIds") or [], p.get("LaunchTemplateNames") or []
    if ids or names:
        found = [store.get(template_id=i) for i in ids] + [store.get(name=n) for n in names]
    else:
        found = list(store.templates.values())
    return page(PAGES, [template_record(t, ctx.account_id) for t in found], p, "LaunchTemplates")


def describe_launch_template_versions(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Named versions (numbers, $Latest, $Default) or every version within Min/MaxVersion."""
    template = _template(ctx, p)
    if p.get("Versions"):
        versions = [template.version(v) for v in p["Versions"]]
    else:
        low = template.version(p["MinVersion"]).number if p.get("MinVersion") else 1
        high = template.version(p["MaxVersion"]).number if p.get("MaxVersion") else template.latest
        versions = [v for v in template.versions if low <= v.number <= high]
    return page(
        VERSION_PAGES, [version_record(template, v, ctx.account_id) for v in versions], p, "LaunchTemplateVersions"
    )


OPERATIONS: dict[str, ApiHandler] = {
    "CreateLaunchTemplate": create_launch_template,
    "CreateLaunchTemplateVersion": create_launch_template_version,
    "ModifyLaunchTemplate": modify_launch_template,
    "DeleteLaunchTemplate": delete_launch_template,
    "DescribeLaunchTemplates": describe_launch_templates,
    "DescribeLaunchTemplateVersions": describe_launch_template_versions,
}
