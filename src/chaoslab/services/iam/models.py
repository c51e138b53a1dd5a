"""IAM resources as stored and as answered: roles (with inline and attached policies) and managed
policies (with versions). `to_doc`/`from_doc` are the store shape; `describe` the API shape."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslab.services.iam.document import encode


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


@dataclass
class Role:
    """A role: who may assume it (trust policy) and what it may do (inline + attached policies).
    Documents are kept as the caller's text, because IAM returns them verbatim."""

    name: str
    role_id: str
    arn: str
    path: str
    trust_policy: str
    description: str = ""
    max_session_duration: int = 3600
    tags: dict[str, str] = field(default_factory=dict)
    inline_policies: dict[str, str] = field(default_factory=dict)
    attached: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Role:
        return cls(**doc)

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.inline_policies.values()]

    def describe(self, with_tags: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Path": self.path,
            "RoleName": self.name,
            "RoleId": self.role_id,
            "Arn": self.arn,
            "CreateDate": _when(self.created),
            "AssumeRolePolicyDocument": encode(self.trust_policy),
            "MaxSessionDuration": self.max_session_duration,
            "RoleLastUsed": {},
        }
        if self.description:
            out["Description"] = self.description
        if with_tags and self.tags:
            out["Tags"] = tag_list(self.tags)
        return out


@dataclass
class PolicyVersion:
    version_id: str
    document: str
    created: float = field(default_factory=time.time)

    def describe(self, is_default: bool) -> dict[str, Any]:
        return {
            "Document": encode(self.document),
            "VersionId": self.version_id,
            "IsDefaultVersion": is_default,
            "CreateDate": _when(self.created),
        }


@dataclass
class ManagedPolicy:
    """A standalone policy attachable to many roles; AWS-managed ones live under account `aws`."""

    name: str
    policy_id: str
    arn: str
    path: str
    versions: list[PolicyVersion]
    default_version: str = "v1"
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ManagedPolicy:
        versions = [PolicyVersion(**v) for v in doc["versions"]]
        return cls(**{**doc, "versions": versions})

    def version(self, version_id: str) -> PolicyVersion | None:
        return next((v for v in self.versions if v.version_id == version_id), None)

    def document(self) -> dict[str, Any]:
        current = self.version(self.default_version)
        assert current is not None, "a policy always has its default version"
        return json.loads(current.document)

    @property
    def aws_managed(self) -> bool:
        return self.arn.startswith("arn:aws:iam::aws:")

    def describe(self, attachments: int, with_tags: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "PolicyName": self.name,
            "PolicyId": self.policy_id,
            "Arn": self.arn,
            "Path": self.path,
            "DefaultVersionId": self.default_version,
            "AttachmentCount": attachments,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": _when(self.created),
            "UpdateDate": _when(self.created),
        }
        if self.description:
            out["Description"] = self.description
        if with_tags and self.tags:
            out["Tags"] = tag_list(self.tags)
        return out


@dataclass
class AccessKey:
    """A user's long-term key pair; the secret is shown once, at CreateAccessKey, as AWS does."""

    access_key_id: str
    secret: str
    status: str = "Active"
    created: float = field(default_factory=time.time)

    def describe(self, user_name: str, with_secret: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "UserName": user_name,
            "AccessKeyId": self.access_key_id,
            "Status": self.status,
            "CreateDate": _when(self.created),
        }
        if with_secret:
            out["SecretAccessKey"] = self.secret
        return out


@dataclass
class User:
    """An IAM user: an identity with long-term access keys and its own inline and attached policies."""

    name: str
    user_id: str
    arn: str
    path: str
    tags: dict[str, str] = field(default_factory=dict)
    inline_policies: dict[str, str] = field(default_factory=dict)
    attached: list[str] = field(default_factory=list)
    access_keys: list[AccessKey] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> User:
        keys = [AccessKey(**k) for k in doc.get("access_keys", [])]
        return cls(**{**doc, "access_keys": keys})

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.inline_policies.values()]

    def describe(self, with_tags: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Path": self.path,
            "UserName": self.name,
            "UserId": self.user_id,
            "Arn": self.arn,
            "CreateDate": _when(self.created),
        }
        if with_tags and self.tags:
            out["Tags"] = tag_list(self.tags)
        return out
