"""IAM semantics for the lab: roles, users and their access keys, inline and managed policies, tags,
and the two questions the FIS engine asks — may this role perform this action on this resource
(`authorize`), and does this role trust the FIS service principal (`trusts_service`). Roles, users
and customer policies persist in the lab store so they survive a restart."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
import time
from datetime import UTC, datetime
from typing import Any, Protocol

from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.services.iam import document, managed
from chaoslab.services.iam.models import AccessKey, ManagedPolicy, PolicyVersion, Role, User
from chaoslab.services.iam.policy import Context, Decision, evaluate, for_principal
from chaoslab.store import Store

ROLE_KIND = "iam.role"
USER_KIND = "iam.user"
MAX_ACCESS_KEYS = 2
POLICY_KIND = "iam.policy"
MAX_ROLES = 1000
MAX_ATTACHED = 10
MAX_TAGS = 50
_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
_PATH = re.compile(r"^(/|/[\x21-\x7e]+/)$")
_ID_CHARS = string.ascii_uppercase + string.digits


class LabLike(Protocol):
    config: LabConfig
    store: Store


def _stable_id(prefix: str, name: str) -> str:
    """AWS-managed policies keep one id across lab restarts, as they do in AWS."""
    digest = hashlib.sha256(name.encode()).digest()
    return prefix + "".join(_ID_CHARS[b % len(_ID_CHARS)] for b in digest[:17])


def _unique_id(prefix: str) -> str:
    """IAM unique ids: a 4-letter type prefix (AROA roles, ANPA policies) and 17 characters."""
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(17))


def no_such_entity(message: str) -> AwsError:
    return AwsError("NoSuchEntity", message, 404)


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def _check(value: str, pattern: re.Pattern[str], member: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise validation_error(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern.pattern.strip('^$')}"
        )


def tags_to_dict(tags: list[dict[str, str]] | dict[str, str] | None) -> dict[str, str]:
    """Accept IAM's `[{"Key", "Value"}]` list (API) or a plain mapping (stack files)."""
    if not tags:
        return {}
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {t["Key"]: t.get("Value", "") for t in tags}


class IamBackend:
    """One account's IAM. IAM names are unique case-insensitively, so lookups fold case."""

    def __init__(self, lab: LabLike) -> None:
        self.lab = lab
        self.account_id = lab.config.account_id
        self.region = lab.config.region
        self._roles: dict[str, Role] = {}
        self._users: dict[str, User] = {}
        self._policies: dict[str, ManagedPolicy] = {}
        for name, (description, _) in managed.POLICIES.items():
            text = json.dumps(managed.documents()[name])
            self._policies[managed.arn_of(name)] = ManagedPolicy(
                name=name,
                policy_id=_stable_id("ANPA", name),
                arn=managed.arn_of(name),
                path=managed.PATH,
                versions=[PolicyVersion("v1", text)],
                description=description,
            )

    async def start(self) -> None:
        for doc in self.lab.store.list(ROLE_KIND):
            role = Role.from_doc(doc)
            self._roles[role.name.lower()] = role
        for doc in self.lab.store.list(USER_KIND):
            user = User.from_doc(doc)
            self._users[user.name.lower()] = user
        for doc in self.lab.store.list(POLICY_KIND):
            policy = ManagedPolicy.from_doc(doc)
            self._policies[policy.arn] = policy

    async def stop(self) -> None:
        """Nothing to release: every change is already in the store."""

    # roles -----------------------------------------------------------------------------------
    def create_role(
        self,
        name: str,
        assume_role_policy_document: str | dict[str, Any],
        path: str = "/",
        description: str = "",
        max_session_duration: int = 3600,
        tags: list[dict[str, str]] | dict[str, str] | None = None,
    ) -> Role:
        _check(name, _NAME, "roleName")
        _check(path, _PATH, "path")
        if not 3600 <= int(max_session_duration) <= 43200:
            raise validation_error(
                f"1 validation error detected: Value '{max_session_duration}' at 'maxSessionDuration' failed to "
                "satisfy constraint: Member must have value between 3600 and 43200"
            )
        if len(description) > 1000:
            raise validation_error("Description must be at most 1000 characters.")
        tag_map = self._checked_tags(tags_to_dict(tags), {})
        if name.lower() in self._roles:
            raise AwsError("EntityAlreadyExists", f"Role with name {name} already exists.", 409)
        if len(self._roles) >= MAX_ROLES:
            raise AwsError("LimitExceeded", f"Cannot exceed quota for RolesPerAccount: {MAX_ROLES}", 409)
        text = document.as_text(assume_role_policy_document)
        document.validate(text, document.TRUST)
        document.check_size(text, document.TRUST)
        role = Role(
            name=name,
            role_id=_unique_id("AROA"),
            arn=f"arn:aws:iam::{self.account_id}:role{path}{name}",
            path=path,
            trust_policy=text,
            description=description,
            max_session_duration=int(max_session_duration),
            tags=tag_map,
        )
        self._save(role)
        return role

    def get_role(self, name: str) -> Role:
        role = self._roles.get(str(name).lower())
        if role is None:
            raise no_such_entity(f"The role with name {name} cannot be found.")
        return role

    def update_assume_role_policy(self, role_name: str, policy_document: str | dict[str, Any]) -> None:
        """UpdateAssumeRolePolicy: replace the role's trust policy."""
        role = self.get_role(role_name)
        text = document.as_text(policy_document)
        document.validate(text, document.TRUST)
        document.check_size(text, document.TRUST)
        role.trust_policy = text
        self._save(role)

    def role_by_arn(self, arn: str) -> Role | None:
        return next((r for r in self._roles.values() if r.arn == arn), None)

    def list_roles(self, path_prefix: str = "/") -> list[Role]:
        return sorted((r for r in self._roles.values() if r.path.startswith(path_prefix)), key=lambda r: r.name)

    def delete_role(self, name: str) -> None:
        role = self.get_role(name)
        if role.inline_policies:
            raise AwsError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
        if role.attached:
            raise AwsError("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)
        del self._roles[role.name.lower()]
        self.lab.store.delete(ROLE_KIND, role.name)

    # inline policies ---------------------------------------------------------------------------
    def put_role_policy(self, role_name: str, policy_name: str, policy_document: str | dict[str, Any]) -> None:
        _check(policy_name, _POLICY_NAME, "policyName")
        role = self.get_role(role_name)
        text = document.as_text(policy_document)
        document.validate(text, document.IDENTITY)
        others = sum(document.size(t) for n, t in role.inline_policies.items() if n != policy_name)
        document.check_size(text, "inline", others)  # the quota is per role, over all inline policies
        role.inline_policies[policy_name] = text
        self._save(role)

    def get_role_policy(self, role_name: str, policy_name: str) -> str:
        role = self.get_role(role_name)
        if policy_name not in role.inline_policies:
            raise no_such_entity(f"The role policy with name {policy_name} cannot be found.")
        return role.inline_policies[policy_name]

    def list_role_policies(self, role_name: str) -> list[str]:
        return sorted(self.get_role(role_name).inline_policies)

    def delete_role_policy(self, role_name: str, policy_name: str) -> None:
        role = self.get_role(role_name)
        if role.inline_policies.pop(policy_name, None) is None:
            raise no_such_entity(f"The role policy with name {policy_name} cannot be found.")
        self._save(role)

    # managed policies --------------------------------------------------------------------------
    def create_policy(
        self,
        name: str,
        policy_document: str | dict[str, Any],
        path: str = "/",
        description: str = "",
        tags: list[dict[str, str]] | dict[str, str] | None = None,
    ) -> ManagedPolicy:
        _check(name, _POLICY_NAME, "policyName")
        _check(path, _PATH, "path")
        arn = f"arn:aws:iam::{self.account_id}:policy{path}{name}"
        if any(p.name.lower() == name.lower() and not p.aws_managed for p in self._policies.values()):
            raise AwsError(
                "EntityAlreadyExists", f"A policy called {name} already exists. Duplicate names are not allowed.", 409
            )
        text = document.as_text(policy_document)
        document.validate(text, document.IDENTITY)
        document.check_size(text, "managed")
        policy = ManagedPolicy(
            name=name,
            policy_id=_unique_id("ANPA"),
            arn=arn,
            path=path,
            versions=[PolicyVersion("v1", text)],
            description=description,
            tags=self._checked_tags(tags_to_dict(tags), {}),
        )
        self._policies[arn] = policy
        self.lab.store.put(POLICY_KIND, arn, policy.to_doc())
        return policy

    def get_policy(self, arn: str) -> ManagedPolicy:
        policy = self._policies.get(arn)
        if policy is None:
            raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion:
        version = self.get_policy(arn).version(version_id)
        if version is None:
            raise no_such_entity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
        return version

    def list_policies(
        self, scope: str = "All", only_attached: bool = False, path_prefix: str = "/"
    ) -> list[ManagedPolicy]:
        if scope not in ("All", "AWS", "Local"):
            raise validation_error(f"Invalid scope {scope!r}: must be one of All, AWS, Local.")
        chosen = [
            p
            for p in self._policies.values()
            if p.path.startswith(path_prefix)
            and (scope == "All" or (scope == "AWS") == p.aws_managed)
            and (not only_attached or self.attachment_count(p.arn) > 0)
        ]
        return sorted(chosen, key=lambda p: p.name)

    def delete_policy(self, arn: str) -> None:
        policy = self.get_policy(arn)
        if policy.aws_managed:
            raise AwsError("AccessDenied", "AWS managed policies cannot be deleted.", 403)
        if self.attachment_count(arn):
            raise AwsError("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
        del self._policies[arn]
        self.lab.store.delete(POLICY_KIND, arn)

    def attachment_count(self, arn: str) -> int:
        return sum(arn in r.attached for r in self._roles.values()) + sum(
            arn in u.attached for u in self._users.values()
        )

    def attach_role_policy(self, role_name: str, policy_arn: str) -> None:
        role = self.get_role(role_name)
        self.get_policy(policy_arn)
        if policy_arn in role.attached:
            return  # IAM treats a repeated attach as success
        if len(role.attached) >= MAX_ATTACHED:
            raise AwsError("LimitExceeded", f"Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED}", 409)
        role.attached.append(policy_arn)
        self._save(role)

    def detach_role_policy(self, role_name: str, policy_arn: str) -> None:
        role = self.get_role(role_name)
        if policy_arn not in role.attached:
            raise no_such_entity(f"Policy {policy_arn} was not found.")
        role.attached.remove(policy_arn)
        self._save(role)

    def list_attached_role_policies(self, role_name: str, path_prefix: str = "/") -> list[ManagedPolicy]:
        role = self.get_role(role_name)
        return [p for p in (self._policies.get(a) for a in role.attached) if p and p.path.startswith(path_prefix)]

    # users and access keys -----------------------------------------------------------------------
    def create_user(
        self, name: str, path: str = "/", tags: list[dict[str, str]] | dict[str, str] | None = None
    ) -> User:
        _check(name, _NAME, "userName")
        _check(path, _PATH, "path")
        tag_map = self._checked_tags(tags_to_dict(tags), {})
        if name.lower() in self._users:
            raise AwsError("EntityAlreadyExists", f"User with name {name} already exists.", 409)
        user = User(
            name=name,
            user_id=_unique_id("AIDA"),
            arn=f"arn:aws:iam::{self.account_id}:user{path}{name}",
            path=path,
            tags=tag_map,
        )
        self._save_user(user)
        return user

    def get_user(self, name: str) -> User:
        user = self._users.get(str(name).lower())
        if user is None:
            raise no_such_entity(f"The user with name {name} cannot be found.")
        return user

    def list_users(self, path_prefix: str = "/") -> list[User]:
        return sorted((u for u in self._users.values() if u.path.startswith(path_prefix)), key=lambda u: u.name)

    def delete_user(self, name: str) -> None:
        user = self.get_user(name)
        if user.access_keys:
            raise AwsError("DeleteConflict", "Cannot delete entity, must delete access keys first.", 409)
        if user.inline_policies:
            raise AwsError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
        if user.attached:
            raise AwsError("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)
        del self._users[user.name.lower()]
        self.lab.store.delete(USER_KIND, user.name)

    def create_access_key(self, user_name: str) -> AccessKey:
        user = self.get_user(user_name)
        if len(user.access_keys) >= MAX_ACCESS_KEYS:
            raise AwsError("LimitExceeded", f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}", 409)
        key = AccessKey(_unique_id("AKIA")[:20], secrets.token_urlsafe(30)[:40])
        user.access_keys.append(key)
        self._save_user(user)
        return key

    def list_access_keys(self, user_name: str) -> list[AccessKey]:
        return list(self.get_user(user_name).access_keys)

    def delete_access_key(self, user_name: str, access_key_id: str) -> None:
        user = self.get_user(user_name)
        kept = [k for k in user.access_keys if k.access_key_id != access_key_id]
        if len(kept) == len(user.access_keys):
            raise no_such_entity(f"The Access Key with id {access_key_id} cannot be found.")
        user.access_keys = kept
        self._save_user(user)

    def key_owner(self, access_key_id: str) -> tuple[User, AccessKey] | None:
        """The user an active access key belongs to (the gateway's SigV4 check asks)."""
        for user in self._users.values():
            for key in user.access_keys:
                if key.access_key_id == access_key_id and key.status == "Active":
                    return user, key
        return None

    def put_user_policy(self, user_name: str, policy_name: str, policy_document: str | dict[str, Any]) -> None:
        _check(policy_name, _POLICY_NAME, "policyName")
        user = self.get_user(user_name)
        text = document.as_text(policy_document)
        document.validate(text, document.IDENTITY)
        others = sum(document.size(t) for n, t in user.inline_policies.items() if n != policy_name)
        document.check_size(text, "inline", others)
        user.inline_policies[policy_name] = text
        self._save_user(user)

    def get_user_policy(self, user_name: str, policy_name: str) -> str:
        user = self.get_user(user_name)
        if policy_name not in user.inline_policies:
            raise no_such_entity(f"The user policy with name {policy_name} cannot be found.")
        return user.inline_policies[policy_name]

    def list_user_policies(self, user_name: str) -> list[str]:
        return sorted(self.get_user(user_name).inline_policies)

    def delete_user_policy(self, user_name: str, policy_name: str) -> None:
        user = self.get_user(user_name)
        if user.inline_policies.pop(policy_name, None) is None:
            raise no_such_entity(f"The user policy with name {policy_name} cannot be found.")
        self._save_user(user)

    def attach_user_policy(self, user_name: str, policy_arn: str) -> None:
        user = self.get_user(user_name)
        self.get_policy(policy_arn)
        if policy_arn in user.attached:
            return  # a repeated attach succeeds, as for roles
        if len(user.attached) >= MAX_ATTACHED:
            raise AwsError("LimitExceeded", f"Cannot exceed quota for PoliciesPerUser: {MAX_ATTACHED}", 409)
        user.attached.append(policy_arn)
        self._save_user(user)

    def detach_user_policy(self, user_name: str, policy_arn: str) -> None:
        user = self.get_user(user_name)
        if policy_arn not in user.attached:
            raise no_such_entity(f"Policy {policy_arn} was not found.")
        user.attached.remove(policy_arn)
        self._save_user(user)

    def list_attached_user_policies(self, user_name: str, path_prefix: str = "/") -> list[ManagedPolicy]:
        user = self.get_user(user_name)
        return [p for p in (self._policies.get(a) for a in user.attached) if p and p.path.startswith(path_prefix)]

    def identity(self, principal_arn: str) -> Role | User | None:
        """The role (of an assumed-role session) or user a caller's ARN names; None for others."""
        kind, _, rest = principal_arn.split(":", 5)[-1].partition("/")
        if kind == "assumed-role":
            return self._roles.get(rest.split("/", 1)[0].lower())
        if kind == "user":
            user = self._users.get(rest.rsplit("/", 1)[-1].lower())
            return user if user is not None and user.arn == principal_arn else None
        return None

    # tags ----------------------------------------------------------------------------------------
    def tag_role(self, role_name: str, tags: list[dict[str, str]] | dict[str, str]) -> None:
        role = self.get_role(role_name)
        role.tags = self._checked_tags(tags_to_dict(tags), role.tags)
        self._save(role)

    def untag_role(self, role_name: str, keys: list[str]) -> None:
        role = self.get_role(role_name)
        role.tags = {k: v for k, v in role.tags.items() if k not in keys}
        self._save(role)

    def list_role_tags(self, role_name: str) -> dict[str, str]:
        return dict(self.get_role(role_name).tags)

    # the questions FIS asks --------------------------------------------------------------------
    def policies_of(self, identity: Role | User) -> list[dict[str, Any]]:
        """Every identity policy in force for a role or user: inline ones, then attached ones."""
        attached = [self._policies[a].document() for a in identity.attached if a in self._policies]
        return identity.documents() + attached

    def authorize(
        self,
        role_arn: str,
        action: str,
        resource_arn: str,
        resource_tags: dict[str, str] | None = None,
        extra_context: Context | None = None,
    ) -> Decision:
        """May the role perform `action` on `resource_arn`? A refusal's reason has the text FIS
        puts in a failed action's state ("Role … does not have sufficient privileges to …")."""
        role = self.role_by_arn(role_arn)
        if role is None:
            return Decision(False, f'Role "{role_arn}" does not exist or cannot be assumed by FIS.', None)
        ctx = self.request_context(role, action, resource_arn, resource_tags, extra_context)
        decision = evaluate(self.policies_of(role), action, resource_arn, ctx)
        if decision.allowed:
            return decision
        return Decision(
            False,
            f'Role "{role_arn}" does not have sufficient privileges to perform {action}. ({decision.reason})',
            decision.matched_statement,
        )

    def request_context(
        self, role: Role, action: str, resource_arn: str, resource_tags: dict[str, str] | None, extra: Context | None
    ) -> Context:
        """The condition keys a real request would carry: resource tags under `aws:` and the
        action's service prefix (`ec2:ResourceTag/Project`), the principal and the region."""
        service = action.split(":", 1)[0].lower()
        parts = resource_arn.split(":")
        region = parts[3] if len(parts) > 5 and parts[3] else self.region
        ctx: Context = {
            "aws:PrincipalArn": role.arn,
            "aws:PrincipalAccount": self.account_id,
            "aws:PrincipalType": "AssumedRole",
            "aws:RequestedRegion": region,
            "aws:CurrentTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(time.time())),
        }
        for key, value in role.tags.items():
            ctx[f"aws:PrincipalTag/{key}"] = value
        for key, value in (resource_tags or {}).items():
            ctx[f"aws:ResourceTag/{key}"] = value
            ctx[f"{service}:ResourceTag/{key}"] = value
        ctx.update(extra or {})
        return ctx

    def trusts_service(self, role_arn: str, service: str = "fis.amazonaws.com", source_arn: str | None = None) -> bool:
        """Does the role's trust policy let `service` call sts:AssumeRole? FIS passes the
        experiment ARN as `source_arn` so the recommended `aws:SourceArn` condition can match."""
        role = self.role_by_arn(role_arn)
        if role is None:
            return False
        trust = for_principal(json.loads(role.trust_policy), "Service", service)
        ctx: Context = {"aws:PrincipalServiceName": service, "aws:SourceAccount": self.account_id}
        if source_arn:
            ctx["aws:SourceArn"] = source_arn
        return evaluate([trust], "sts:AssumeRole", role.arn, ctx).allowed

    # helpers -------------------------------------------------------------------------------------
    def _save(self, role: Role) -> None:
        self._roles[role.name.lower()] = role
        self.lab.store.put(ROLE_KIND, role.name, role.to_doc())

    def _save_user(self, user: User) -> None:
        self._users[user.name.lower()] = user
        self.lab.store.put(USER_KIND, user.name, user.to_doc())

    def _checked_tags(self, new: dict[str, str], current: dict[str, str]) -> dict[str, str]:
        merged = {**current, **new}
        if len(merged) > MAX_TAGS:
            raise AwsError("LimitExceeded", f"Cannot exceed quota for TagsPerRole: {MAX_TAGS}", 409)
        for key, value in new.items():
            if not 1 <= len(key) <= 128 or len(value) > 256 or key.lower().startswith("aws:"):
                raise validation_error(
                    f"Invalid tag {key!r}: keys are 1-128 characters and may not start "
                    "with 'aws:'; values are at most 256 characters."
                )
        return merged
