"""Experiment files: the bundled ones are valid; mistakes are reported with their JSON path."""

import pytest
import yaml

from chaoslab.errors import ChaoslabError
from chaoslab.experiment.schema import (
    bundled_experiments,
    load_experiment,
    validate_experiment_document,
    validate_experiment_file,
)


def _doc(**over):
    doc = yaml.safe_load(bundled_experiments()["seed003-stop-instance"].read_text())
    doc.update(over)
    return doc


def test_bundled_experiments_are_valid():
    assert {"seed003-stop-instance", "seed003-idempotent-retries"} <= set(bundled_experiments())
    for path in bundled_experiments().values():
        assert validate_experiment_file(path) == []


def test_bad_rate_names_its_path():
    doc = _doc(workload={"requests": [{"method": "GET", "path": "/products", "rate": -1}]})
    issues = validate_experiment_document(doc)
    assert [i.path for i in issues] == ["workload.requests[0].rate"]


def test_clause_missing_its_bound_is_reported():
    doc = _doc(hypothesis={"if": "x", "then": "y", "clauses": [{"type": "latency", "percentile": 99}]})
    issues = validate_experiment_document(doc)
    assert any(i.path == "hypothesis.clauses[0]" and "max_ms" in i.message for i in issues)


def test_unknown_key_has_a_hint():
    issues = validate_experiment_document(_doc(workloads={}))
    assert issues and issues[0].hint and "spelling" in issues[0].hint


def test_two_template_sources_are_refused():
    issues = validate_experiment_document(_doc(template_id="EXT123"))
    assert any("template" in i.hint for i in issues if i.hint)


def test_inline_template_is_checked_by_fis_rules():
    doc = _doc()
    doc["template"]["actions"]["stop-instance"]["actionId"] = "aws:ec2:explode"
    issues = validate_experiment_document(doc)
    assert any(i.path.startswith("template.actions") for i in issues)


def test_fast_overrides_apply(tmp_path):
    slow = load_experiment("seed003-stop-instance")
    fast = load_experiment("seed003-stop-instance", fast=True)
    assert slow["probe"]["interval_s"] == 2 and fast["probe"]["interval_s"] == 0.5
    assert fast["timing"]["baseline_s"] < slow["timing"]["baseline_s"]


def test_template_file_is_read_relative(tmp_path):
    doc = _doc()
    (tmp_path / "t.json").write_text(__import__("json").dumps(doc.pop("template")))
    doc["template_file"] = "t.json"
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(doc))
    exp = load_experiment(tmp_path / "e.yaml")
    assert exp["template"]["actions"]["stop-instance"]["actionId"] == "aws:ec2:stop-instances"


def test_invalid_file_raises_with_path(tmp_path):
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(_doc(timing={"baseline_s": "ten"})))
    with pytest.raises(ChaoslabError) as err:
        load_experiment(tmp_path / "e.yaml")
    assert "timing.baseline_s" in str(err.value)


def test_every_schema_error_has_a_hint():
    doc = _doc(title="", timing={"baseline_s": 0}, hypothesis={"if": "x", "then": "y", "clauses": []})
    issues = validate_experiment_document(doc)
    assert len(issues) >= 3 and all(i.hint for i in issues)


def test_misspelt_clause_key_is_reported():
    """A typo in `endpoint` used to be ignored, so the clause judged every endpoint instead."""
    clause = {"type": "error_rate", "max_percent": 1, "endpiont": "POST /orders"}
    issues = validate_experiment_document(_doc(hypothesis={"if": "x", "then": "y", "clauses": [clause]}))
    assert [i.path for i in issues] == ["hypothesis.clauses[0]"]
    assert "endpiont" in issues[0].message and "spelling" in issues[0].hint


def test_clause_key_of_another_type_is_reported():
    clause = {"type": "error_rate", "max_percent": 1, "max_ms": 200}
    issues = validate_experiment_document(_doc(steady_state=[clause]))
    assert [i.path for i in issues] == ["steady_state[0]"] and "max_ms" in issues[0].message


def test_every_clause_type_with_its_keys_is_valid():
    clauses = [
        {
            "type": "error_rate",
            "max_percent": 0,
            "endpoint": "GET /products",
            "phase": "all",
            "include_probe": False,
            "window_s": 5,
        },
        {"type": "latency", "percentile": 99, "max_ms": 500},
        {"type": "consecutive_failures", "max": 0},
        {"type": "recovery_time", "max_s": 60},
        {"type": "alarm", "name": "a", "state": "ALARM", "mode": "never_was"},
        {"type": "healthy_hosts", "min": 1},
        {"type": "successes", "min_per_s": 5},
        {"type": "no_lost_writes"},
        {"type": "data_intact"},
    ]
    assert validate_experiment_document(_doc(hypothesis={"if": "x", "then": "y", "clauses": clauses})) == []


def test_missing_template_file_is_a_user_error(tmp_path):
    """It used to escape as FileNotFoundError: a traceback from `chaoslab run`."""
    doc = _doc()
    doc.pop("template")
    doc["template_file"] = "nowhere.json"
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ChaoslabError) as err:
        load_experiment(tmp_path / "e.yaml")
    assert "nowhere.json" in str(err.value) and "relative to the experiment" in err.value.hint


def test_template_file_is_checked_by_fis_rules(tmp_path):
    """An inline template is linted before the run; one in template_file used to reach the lab unchecked."""
    doc = _doc()
    template = doc.pop("template")
    template["actions"]["stop-instance"]["actionId"] = "aws:ec2:explode"
    (tmp_path / "t.json").write_text(__import__("json").dumps({**template, "clientToken": "x"}))
    doc["template_file"] = "t.json"
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ChaoslabError) as err:
        load_experiment(tmp_path / "e.yaml")
    assert "t.json: actions.stop-instance" in str(err.value)


def test_chaoslab_validate_checks_the_template_file(tmp_path):
    """`chaoslab validate` used to pass an experiment whose template_file was missing or broken."""
    from chaoslab.validate import validate_paths

    doc = _doc()
    template = doc.pop("template")
    doc["template_file"] = "t.json"
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(doc))
    missing = validate_paths([tmp_path / "e.yaml"])
    assert [i.path for i in missing] == ["template_file"] and "t.json" in missing[0].message
    template["actions"]["stop-instance"]["actionId"] = "aws:ec2:explode"
    (tmp_path / "t.json").write_text(__import__("json").dumps(template))
    bad = validate_paths([tmp_path / "e.yaml"])
    assert [i.path for i in bad] == ["template_file"] and "actions.stop-instance" in bad[0].message
    (tmp_path / "t.json").write_text(__import__("json").dumps(_doc()["template"]))
    assert validate_paths([tmp_path / "e.yaml"]) == []
    assert validate_experiment_file(tmp_path / "e.yaml") == []


def test_a_directory_or_binary_file_is_a_user_error(tmp_path):
    """Both used to escape load_experiment as IsADirectoryError / UnicodeDecodeError tracebacks."""
    with pytest.raises(ChaoslabError, match="is a directory"):
        load_experiment(tmp_path)
    (tmp_path / "e.yaml").write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    with pytest.raises(ChaoslabError, match="not a text file"):
        load_experiment(tmp_path / "e.yaml")


def test_a_check_the_steady_state_cannot_judge_is_refused():
    """recovery_time (or successes, data_intact, …) in steady_state used to pass validation and
    then fail every baseline as "not a steady-state check"."""
    issues = validate_experiment_document(_doc(steady_state=[{"type": "recovery_time", "max_s": 30}]))
    assert [i.path for i in issues] == ["steady_state[0].type"] and issues[0].hint
    ok = [
        {"type": "latency", "percentile": 99, "max_ms": 300, "window_s": 5},
        {"type": "alarm", "name": "a", "state": "OK"},
        {"type": "consecutive_failures", "max": 0},
    ]
    assert validate_experiment_document(_doc(steady_state=ok)) == []


def test_body_placeholders_the_workload_cannot_fill_are_reported():
    """`{{randint 10 1}}` made every send raise (no request, no record); `{{randint 1}}` or
    `{{uuid4}}` went out as literal strings."""
    body = {
        "product_id": "{{randint 10 1}}",
        "quantity": "{{randint 1}}",
        "tags": ["{{uuid4}}", "{{uuid}}"],
        "note": "plain",
        "ok": "{{ randint 1 10 }}",
    }
    doc = _doc(workload={"requests": [{"method": "POST", "path": "/orders", "rate": 1, "body": body}]})
    issues = validate_experiment_document(doc)
    assert sorted(i.path for i in issues) == [
        "workload.requests[0].body.product_id",
        "workload.requests[0].body.quantity",
        "workload.requests[0].body.tags[0]",
    ]
    assert all(i.hint for i in issues)


@pytest.mark.parametrize("bad", [0, -2, 2.5, "two", True, 65])
def test_bad_process_count_is_named_with_the_range(bad):
    doc = _doc(workload={"processes": bad, "requests": [{"path": "/products", "rate": 10}]})
    issues = validate_experiment_document(doc)
    assert [(i.path, i.message) for i in issues] == [
        ("workload.processes", f"{bad!r} is not a whole number from 1 to 64")
    ]
    assert "generator processes" in issues[0].hint


def test_a_process_count_is_accepted():
    doc = _doc(workload={"processes": 2, "requests": [{"path": "/products", "rate": 10}]})
    assert validate_experiment_document(doc) == []


def _locust_doc(**locust):
    doc = _doc(workload={"locust": {"locustfile": "load.py", "users": 10, **locust}})
    doc["hypothesis"]["clauses"] = [{"type": "error_rate", "max_percent": 1}]
    del doc["integrity"]  # the seed's file checks the Chaos Shop's orders, which Locust's users are not
    return doc


def test_a_locust_workload_is_accepted():
    assert validate_experiment_document(_locust_doc(workers=2, expect_workers=5, master_bind="0.0.0.0:5557")) == []


def test_a_locust_workload_replaces_the_labs_own_and_its_write_clauses():
    doc = _locust_doc(workers=3, expect_workers=2)
    doc["workload"]["requests"] = [{"path": "/products", "rate": 1}]
    doc["hypothesis"]["clauses"] += [{"type": "no_lost_writes"}, {"type": "data_intact"}]
    doc["integrity"] = {"app": "chaos-shop"}
    issues = {i.path: i for i in validate_experiment_document(doc)}
    assert set(issues) == {
        "workload.requests",
        "workload.locust.expect_workers",
        "integrity.app",
        "hypothesis.clauses[1].type",
        "hypothesis.clauses[2].type",
    }
    assert all(i.hint for i in issues.values())


@pytest.mark.parametrize(
    ("locust", "path"),
    [
        ({"users": 0}, "workload.locust.users"),
        ({"workers": -1}, "workload.locust.workers"),
        ({"master_bind": "nohost"}, "workload.locust.master_bind"),
        ({"spawn": 1}, "workload.locust"),
    ],
)
def test_bad_locust_settings_are_named(locust, path):
    assert [i.path for i in validate_experiment_document(_locust_doc(**locust))] == [path]


def test_the_locustfile_is_found_beside_the_experiment(tmp_path):
    (tmp_path / "load.py").write_text("")
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(_locust_doc()))
    exp = load_experiment(path)
    assert exp["workload"]["locust"]["locustfile"] == str((tmp_path / "load.py").resolve())
    assert "requests" not in exp["workload"] and exp["integrity"] == {"app": "none"}
    (tmp_path / "load.py").unlink()
    with pytest.raises(ChaoslabError, match="locustfile load.py does not exist") as err:
        load_experiment(path)
    assert "relative to the experiment file" in (err.value.hint or "")
