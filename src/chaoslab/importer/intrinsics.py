"""CloudFormation's intrinsic functions and conditions, evaluated as CloudFormation would at
create time: `Ref` (parameters with their defaults or overrides, pseudo-parameters, resources),
`Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If` with `Conditions`,
`Fn::Equals`/`And`/`Or`/`Not`, `Fn::FindInMap`, `Fn::GetAZs` and `Fn::Base64`. What only a
deployed stack knows (`Fn::ImportValue`, an attribute the importer cannot compute) raises
`Unresolvable`, so the caller can name the resource it left out and why."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

NO_VALUE = object()  # AWS::NoValue: the property or list item is removed
_SUB = re.compile(r"\$\{([^}]+)\}")


class Unresolvable(Exception):
    """A value only a deployed stack knows."""


Lookup = Callable[[str], Any]  # logical id -> what Ref returns
AttrLookup = Callable[[str, str], Any]  # (logical id, attribute) -> what GetAtt returns


class Resolver:
    """Evaluates intrinsics against one template's parameters, conditions and resources."""

    def __init__(
        self,
        template: Mapping[str, Any],
        overrides: Mapping[str, str],
        region: str,
        account: str,
        ref: Lookup,
        attr: AttrLookup,
        stack_name: str = "imported",
    ) -> None:
        self.template = template
        self.region, self.account = region, account
        self.ref_resource, self.attr = ref, attr
        self.params = self._parameters(template.get("Parameters") or {}, overrides)
        self.pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/0",
            "AWS::NoValue": NO_VALUE,
        }
        self._conditions: dict[str, bool] = {}

    @staticmethod
    def _parameters(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise Unresolvable(f"--parameter {unknown[0]}: the template declares no such parameter")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in overrides:
                value: Any = overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                continue  # an error only if something refers to it
            kind = str(spec.get("Type", "String"))
            if (kind.startswith("List<") or kind == "CommaDelimitedList") and isinstance(value, str):
                value = [v.strip() for v in value.split(",")]
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            values[name] = value
        return values

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise Unresolvable(f"condition {name!r} is not declared")
            self._conditions[name] = bool(self._truth(conditions[name]))
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Condition":
                return self.condition(str(arg))
            if key == "Fn::Equals":
                a, b = (self.resolve(v) for v in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(v) for v in arg)
            if key == "Fn::Or":
                return any(self._truth(v) for v in arg)
        value = self.resolve(node)
        return value is True or str(value).lower() == "true"

    def resolve(self, node: Any) -> Any:
        """`node` with every intrinsic evaluated; AWS::NoValue members and items removed."""
        if isinstance(node, list):
            items = [self.resolve(v) for v in node]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self._ref(str(arg))
            if key.startswith("Fn::"):
                return self._function(key, arg)
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in (self.template.get("Parameters") or {}):
            raise Unresolvable(f"parameter {name} has no default; pass --parameter {name}=VALUE")
        return self.ref_resource(name)

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::If":
            name, yes, no = arg
            return self.resolve(yes if self.condition(str(name)) else no)
        if key == "Fn::GetAtt":
            logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
            return self.attr(str(logical), str(self.resolve(attribute)))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            sep, items = arg
            return str(self.resolve(sep)).join(str(v) for v in self.resolve(items))
        if key == "Fn::Select":
            index, items = arg
            values = self.resolve(items)
            return values[int(self.resolve(index))]
        if key == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text)).split(str(self.resolve(sep)))
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if key == "Fn::GetAZs":
            region = self.resolve(arg) or self.region
            return [f"{region}{suffix}" for suffix in "abc"]
        if key == "Fn::FindInMap":
            name, top, second = (str(self.resolve(v)) for v in arg)
            try:
                return self.resolve(self.template["Mappings"][name][top][second])
            except KeyError:
                raise Unresolvable(f"Fn::FindInMap {name}/{top}/{second} is not in Mappings") from None
        if key in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
            return self._truth({key: arg})
        raise Unresolvable(f"{key} needs a deployed stack")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: self.resolve(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and name.split(".", 1)[0] not in self.pseudo:
                logical, attribute = name.split(".", 1)
                return str(self.attr(logical, attribute))
            return str(self._ref(name))

        return _SUB.sub(one, str(text))
