"""Experiment files (YAML or JSON): the FIS template plus what FIS lacks — workload, probe,
steady state, hypothesis clauses, integrity checks and phase timing. `load_experiment` validates
with a JSON Schema so every error names its JSON path and a fix; `chaoslab validate` checks
experiment files with `validate_experiment_document` and `template_file_issues`. The format is
documented in docs/experiments.md."""

from __future__ import annotations

import copy
import importlib.resources
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from chaoslab.errors import ChaoslabError
from chaoslab.experiment.workload import placeholder_problem
from chaoslab.services.fis.runnable import gaps
from chaoslab.services.fis.validation import Issue, validate_template
from chaoslab.timing import AWS as AWS_DELAYS

_NUM = {"type": "number", "minimum": 0}
MAX_PROCESSES = 64  # generator processes: about one per core is useful, more only contend
_POS = {"type": "number", "exclusiveMinimum": 0}
_PHASE = {"enum": ["baseline", "injection", "recovery", "after-baseline", "all"]}

_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "rate"],
    "properties": {
        "name": {"type": "string"},
        "method": {"enum": ["GET", "POST", "PUT", "DELETE", "HEAD"]},
        "path": {"type": "string", "pattern": "^/"},
        "rate": {**_POS, "maximum": 2000},
        "body": {"type": "object"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "retries": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "attempts": {"type": "integer", "minimum": 1, "maximum": 10},
                "backoff_s": _NUM,
                "attempt_timeout_s": _POS,
                "idempotency_key": {"type": "boolean"},
            },
        },
    },
}

# unevaluatedProperties (not additionalProperties) so each type's own keys, declared in allOf,
# count as known: a misspelt `endpiont:` or `phaes:` must not silently widen what a clause judges.
_CLAUSE = {
    "type": "object",
    "required": ["type"],
    "unevaluatedProperties": False,
    "properties": {
        "type": {
            "enum": [
                "error_rate",
                "latency",
                "consecutive_failures",
                "recovery_time",
                "alarm",
                "no_lost_writes",
                "data_intact",
                "healthy_hosts",
                "successes",
                "scale_out",
            ]
        },
        "phase": _PHASE,
        "endpoint": {"type": "string"},
        "window_s": _POS,
        "include_probe": {"type": "boolean"},
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "error_rate"}}},
            "then": {"required": ["max_percent"], "properties": {"max_percent": {**_NUM, "maximum": 100}}},
        },
        {
            "if": {"properties": {"type": {"const": "latency"}}},
            "then": {
                "required": ["percentile", "max_ms"],
                "properties": {"percentile": {**_POS, "maximum": 100}, "max_ms": _POS},
            },
        },
        {
            "if": {"properties": {"type": {"const": "consecutive_failures"}}},
            "then": {"required": ["max"], "properties": {"max": {"type": "integer", "minimum": 0}}},
        },
        {
            "if": {"properties": {"type": {"const": "recovery_time"}}},
            "then": {"required": ["max_s"], "properties": {"max_s": _POS}},
        },
        {
            "if": {"properties": {"type": {"const": "alarm"}}},
            "then": {
                "required": ["name", "state"],
                "properties": {
                    "name": {"type": "string"},
                    "mode": {"enum": ["is", "never_was"]},
                    "state": {"enum": ["OK", "ALARM", "INSUFFICIENT_DATA"]},
                },
            },
        },
        {
            "if": {"properties": {"type": {"const": "successes"}}},
            "then": {"required": ["min_per_s"], "properties": {"min_per_s": _NUM}},
        },
        {
            "if": {"properties": {"type": {"const": "healthy_hosts"}}},
            "then": {"required": ["min"], "properties": {"min": {"type": "integer", "minimum": 0}}},
        },
        {
            "if": {"properties": {"type": {"const": "scale_out"}}},
            "then": {
                "required": ["within_s"],
                "properties": {
                    "within_s": _POS,
                    "min_added": {"type": "integer", "minimum": 1},
                    "resource": {"type": "string"},
                },
            },
        },
    ],
}

# The kinds `hypothesis.steady_state` can judge at an instant; any other failed every baseline.
_STEADY_CHECK = {
    "allOf": [
        _CLAUSE,
        {"properties": {"type": {"enum": ["error_rate", "latency", "consecutive_failures", "healthy_hosts", "alarm"]}}},
    ]
}

_TIMING = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "baseline_s": _POS,
        "max_injection_s": _POS,
        "recovery_timeout_s": _POS,
        "ready_timeout_s": _POS,
        "min_recovery_s": _NUM,
    },
}
_PROBE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean"},
        "path": {"type": "string", "pattern": "^/"},
        "interval_s": _POS,
        "connect_timeout_s": _POS,
        "max_time_s": _POS,
    },
}

# The workload on Locust (experiment/locust_engine.py): the user's locustfile, headless.
_LOCUST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["locustfile", "users"],
    "description": "run the load with Locust: a locustfile (relative to this file) and its users",
    "properties": {
        "locustfile": {"type": "string", "minLength": 1},
        "users": {"type": "integer", "minimum": 1},
        "spawn_rate": _POS,
        "workers": {"type": "integer", "minimum": 0, "maximum": MAX_PROCESSES},
        "expect_workers": {"type": "integer", "minimum": 1},
        "master_bind": {"type": "string", "pattern": "^[^:\\s]*:[0-9]{1,5}$"},
    },
}
# Clauses that need the writes the lab's own workload observes (every order in the database must be
# one it placed): Locust's users are the user's code, and their orders would all read as phantoms.
_NEEDS_OWN_WORKLOAD = frozenset({"no_lost_writes", "data_intact"})

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "hypothesis"],
    "oneOf": [{"required": ["template"]}, {"required": ["template_file"]}, {"required": ["template_id"]}],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "stack": {"type": "string"},
        # single delays of the lab's timing profile (docs/timing.md) for a lab this run starts
        "delays": {
            "type": "object",
            "propertyNames": {"enum": sorted(AWS_DELAYS)},
            "additionalProperties": {"type": "number", "minimum": 0},
        },
        "template": {"type": "object"},
        "template_file": {"type": "string"},
        "template_id": {"type": "string", "pattern": "^EXT"},
        "setup": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "orders": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["product_id", "quantity"],
                        "properties": {
                            "product_id": {"type": "integer", "minimum": 1},
                            "quantity": {"type": "integer", "minimum": 1},
                        },
                    },
                }
            },
        },
        "workload": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "target": {"type": "string", "pattern": "^https?://"},
                "timeout_s": _POS,
                "connect_timeout_s": _POS,
                "processes": {"type": "integer", "minimum": 1, "maximum": MAX_PROCESSES},
                "requests": {"type": "array", "items": _REQUEST},
                "locust": _LOCUST,
            },
        },
        "probe": _PROBE,
        "steady_state": {"type": "array", "items": _STEADY_CHECK},
        "hypothesis": {
            "type": "object",
            "additionalProperties": False,
            "required": ["if", "then", "clauses"],
            "properties": {
                "if": {"type": "string"},
                "then": {"type": "string"},
                "clauses": {"type": "array", "minItems": 1, "items": _CLAUSE},
            },
        },
        "integrity": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"app": {"enum": ["chaos-shop", "none"]}},
        },
        "timing": _TIMING,
        "fis": {
            "type": "object",
            "additionalProperties": False,
            "description": "how the lab runs the template",
            "properties": {"skip_unsupported_actions": {"type": "boolean"}},
        },
        "fast": {
            "type": "object",
            "additionalProperties": False,
            "description": "overrides under --fast",
            "properties": {"timing": _TIMING, "probe": _PROBE},
        },
    },
}

DEFAULT_TIMING = {
    "baseline_s": 10.0,
    "max_injection_s": 120.0,
    "recovery_timeout_s": 120.0,
    "ready_timeout_s": 60.0,
    "min_recovery_s": 0.0,
}
DEFAULT_PROBE = {"enabled": False, "path": "/products", "interval_s": 2.0, "connect_timeout_s": 3.0, "max_time_s": 5.0}
DEFAULT_STEADY_STATE = [{"type": "error_rate", "max_percent": 1, "window_s": 5}, {"type": "healthy_hosts", "min": 2}]

_HINTS = {
    "required": "add the missing key",
    "additionalProperties": "remove it or fix its spelling (see docs/experiments.md)",
    "unevaluatedProperties": "remove it or fix its spelling; clause keys depend on its type (see docs/experiments.md)",
    "enum": "use one of the allowed values",
    "oneOf": "give exactly one of template, template_file or template_id",
    "type": "change the value's type",
    "pattern": "match the expected form",
    "minimum": "use a larger value",
    "exclusiveMinimum": "use a value above the minimum",
    "maximum": "use a smaller value",
    "minItems": "add at least one entry",
    "minLength": "give a non-empty value",
}

_PROCESSES_HINT = (
    "1 (the default) sends from the runner's own process; N shares each request's rate among N "
    "generator processes (about one per core helps, more only contend)"
)


def _path(parts: list[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(file)"


def validate_experiment_document(doc: Any) -> list[Issue]:
    """Schema issues, then the inline FIS template's issues under `template.`."""
    if not isinstance(doc, dict):
        return [Issue("(file)", "an experiment file is a mapping", "start with `title:` and `template:`")]
    validator = jsonschema.Draft202012Validator(SCHEMA)
    issues = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        # oneOf/allOf failures carry the precise sub-errors: the deepest one names the real spot.
        leaf = max(err.context, key=lambda e: len(e.absolute_path)) if err.context else err
        path = _path(list(leaf.absolute_path))
        if path == "workload.processes":  # the schema's words ("not of type 'integer'") say less
            issues.append(
                Issue(path, f"{leaf.instance!r} is not a whole number from 1 to {MAX_PROCESSES}", _PROCESSES_HINT)
            )
        else:
            issues.append(Issue(path, leaf.message, _HINTS.get(leaf.validator)))
    issues += _placeholder_issues(doc)
    issues += _locust_issues(doc)
    if isinstance(doc.get("template"), dict):
        issues += [
            Issue(f"template.{i.path}", i.message, i.hint, i.severity, i.code)
            for i in validate_template(doc["template"])
        ]
    return issues


def _placeholder_issues(doc: dict[str, Any]) -> list[Issue]:
    """Request bodies' `{{…}}` strings that the workload would not fill."""
    workload = doc.get("workload")
    requests = workload.get("requests") if isinstance(workload, dict) else None
    issues = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for n, v in enumerate(value):
                walk(v, f"{path}[{n}]")
        elif isinstance(value, str) and (problem := placeholder_problem(value)):
            issues.append(Issue(path, problem, "use {{randint A B}} with A <= B, or {{uuid}}"))

    for i, req in enumerate(requests if isinstance(requests, list) else []):
        if isinstance(req, dict):
            walk(req.get("body"), f"workload.requests[{i}].body")
    return issues


def _locust_issues(doc: dict[str, Any]) -> list[Issue]:
    """What a Locust workload cannot be combined with: the lab's own requests, and clauses that
    judge the writes only the lab's own workload observes."""
    workload = doc.get("workload")
    if not isinstance(workload, dict) or not isinstance(workload.get("locust"), dict):
        return []
    issues = [
        Issue(f"workload.{key}", f"`{key}` is the lab's own workload; `locust` replaces it", "keep one of the two")
        for key in ("requests", "processes")
        if key in workload
    ]
    locust = workload["locust"]
    workers, expect = locust.get("workers", 0), locust.get("expect_workers")
    if isinstance(workers, int) and isinstance(expect, int) and expect < workers:
        issues.append(
            Issue(
                "workload.locust.expect_workers",
                f"{expect} is fewer than the {workers} local workers",
                "count the local workers and the ones that join from other machines",
            )
        )
    integrity = doc.get("integrity")
    if isinstance(integrity, dict) and integrity.get("app") == "chaos-shop":
        issues.append(
            Issue(
                "integrity.app",
                "the integrity check reads the writes the lab's own workload observes; Locust's users are yours",
                "drop `integrity:` (with Locust it is off) or use the lab's workload",
            )
        )
    hypothesis = doc.get("hypothesis")
    clauses = hypothesis.get("clauses") if isinstance(hypothesis, dict) else None
    for i, clause in enumerate(clauses if isinstance(clauses, list) else []):
        if isinstance(clause, dict) and clause.get("type") in _NEEDS_OWN_WORKLOAD:
            issues.append(
                Issue(
                    f"hypothesis.clauses[{i}].type",
                    f"{clause['type']} judges writes the lab's own workload observes; Locust's users are yours",
                    "use the lab's workload (`requests`) for it",
                )
            )
    return issues


def read_document(path: str | Path) -> Any:
    """YAML or JSON by content (JSON is YAML, but JSON errors read better from json)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:  # `chaoslab run some.tar.gz` is a user's slip, not a bug
        raise ChaoslabError(f"{path}: not a text file ({exc.reason})") from None
    except IsADirectoryError:
        raise ChaoslabError(f"{path} is a directory", hint="name the experiment file in it") from None
    try:
        return json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ChaoslabError(f"{path}: not valid YAML/JSON: {exc}") from None


def template_file_issues(doc: Any, path: str | Path) -> list[Issue]:
    """The issues of the template a `template_file:` names (read relative to `path`), so an
    offline check sees what the run would send."""
    if not isinstance(doc, dict) or not isinstance(doc.get("template_file"), str):
        return []
    try:
        _read_template_file(Path(path), doc["template_file"])
    except ChaoslabError as exc:
        return [Issue("template_file", str(exc).split("\n")[0], exc.hint)]
    return []


def experiment_template(doc: dict[str, Any], path: Path) -> tuple[Any, str]:
    """(the FIS template the run would send, the key naming it): the inline one, or the
    template_file's (None when it cannot be read; template_id's lives in the lab)."""
    if "template" in doc:
        return doc["template"], "template"
    if isinstance(doc.get("template_file"), str):
        tpath = (
            Path(doc["template_file"])
            if Path(doc["template_file"]).is_absolute()
            else path.parent / doc["template_file"]
        )
        try:
            return read_document(tpath), "template_file"
        except (OSError, ChaoslabError):
            return None, "template_file"
    return None, "template_id"


def validate_experiment_file(path: str | Path) -> list[Issue]:
    """Every issue in one experiment file (its template_file's too), tagged with its name."""
    try:
        doc = read_document(path)
    except (OSError, ChaoslabError) as exc:
        return [Issue("(file)", str(exc), "check the path and the YAML/JSON syntax", file=str(path))]
    return [
        Issue(i.path, i.message, i.hint, i.severity, i.code, file=str(path))
        for i in validate_experiment_document(doc) + template_file_issues(doc, path)
    ]


def bundled_experiments() -> dict[str, Path]:
    """Experiment files shipped in the package, by name (`seed003-stop-instance`, …)."""
    root = importlib.resources.files("chaoslab") / "experiments"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith((".yaml", ".json"))}


def resolve_experiment_path(ref: str | Path) -> Path:
    path = Path(ref)
    if path.exists():
        return path
    bundled = bundled_experiments()
    if str(ref) in bundled:
        return bundled[str(ref)]
    raise ChaoslabError(
        f"experiment file {ref} does not exist", hint=f"bundled experiments: {', '.join(sorted(bundled))}"
    )


def _read_template_file(exp_path: Path, ref: str) -> Any:
    """The template beside the experiment, held to the FIS rules an inline one meets, so a missing
    file or a bad template stops the run before a lab is started, with the file and path named."""
    tpath = Path(ref) if Path(ref).is_absolute() else exp_path.parent / ref
    try:
        template = read_document(tpath)
    except OSError as exc:
        raise ChaoslabError(
            f"template_file {ref}: {exc.strerror or exc}",
            path=str(exp_path),
            hint="the path is relative to the experiment file",
        ) from None
    errors = [i for i in validate_template(template) if i.severity == "error"]
    if errors:
        raise ChaoslabError(errors[0].message, hint=errors[0].hint, path=f"{tpath}: {errors[0].path}")
    return template


def _locustfile(exp_path: Path, ref: str) -> Path:
    """The locustfile, relative to the experiment file; it must exist before a lab is started."""
    path = Path(ref) if Path(ref).is_absolute() else exp_path.parent / ref
    if not path.is_file():
        raise ChaoslabError(
            f"locustfile {ref} does not exist",
            path=f"{exp_path}: workload.locust.locustfile",
            hint="the path is relative to the experiment file",
        )
    if importlib.util.find_spec("locust") is None:
        raise ChaoslabError(
            "workload.locust needs Locust, which is not installed",
            path=f"{exp_path}: workload.locust",
            hint="pip install locust",
        )
    return path.resolve()


def _check_runnable(exp: dict[str, Any], path: Path) -> None:
    """Stop before a lab is started when the template asks for what the lab cannot run, unless the
    file says to skip it (`fis: {skip_unsupported_actions: true}`)."""
    if "template" not in exp or exp.get("fis", {}).get("skip_unsupported_actions"):
        return
    found = gaps(exp["template"])
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        where = "template." + found[0].path if "template_file" not in exp else "template_file"
        raise ChaoslabError(
            found[0].failure_reason() + more,
            path=f"{path}: {where}",
            hint="add `fis: {skip_unsupported_actions: true}` to run the rest and mark these skipped",
        )


def load_experiment(ref: str | Path, *, fast: bool = False, for_lab: bool = True) -> dict[str, Any]:
    """A validated experiment with defaults filled in (and `fast:` overrides applied). `for_lab`
    also refuses a template the lab cannot run; an AWS account runs what FIS runs."""
    path = resolve_experiment_path(ref)
    doc = read_document(path)
    errors = [i for i in validate_experiment_document(doc) if i.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more; `chaoslab validate {path}` lists them)" if len(errors) > 1 else ""
        raise ChaoslabError(f"{first.message}{more}", hint=first.hint, path=f"{path}: {first.path}")
    exp = copy.deepcopy(doc)
    exp["file"] = str(path)
    if "template_file" in exp:
        exp["template"] = _read_template_file(path, exp["template_file"])
    if for_lab:
        _check_runnable(exp, path)
    if Path(exp.get("stack", "")).suffix in (".yaml", ".yml", ".json") and not Path(exp["stack"]).is_absolute():
        exp["stack"] = str(path.parent / exp["stack"])  # like template_file: relative to this file, not the cwd
    exp["timing"] = {**DEFAULT_TIMING, **exp.get("timing", {})}
    exp["probe"] = {**DEFAULT_PROBE, **exp.get("probe", {})}
    if fast:
        exp["timing"].update(exp.get("fast", {}).get("timing", {}))
        exp["probe"].update(exp.get("fast", {}).get("probe", {}))
    exp.setdefault("steady_state", copy.deepcopy(DEFAULT_STEADY_STATE))
    exp.setdefault("workload", {})
    if "locust" in exp["workload"]:
        exp["workload"]["locust"]["locustfile"] = str(_locustfile(path, exp["workload"]["locust"]["locustfile"]))
    else:
        exp["workload"].setdefault("requests", [])
    # no app named: checked when the app answers as the Chaos Shop does, unless Locust makes the load
    exp.setdefault("integrity", {"app": "none"} if "locust" in exp["workload"] else {})
    exp.setdefault("description", "")
    return exp
