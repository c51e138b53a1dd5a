"""A service is one folder: its package's `SERVICE` spec is all the lab and the gateway need.
These check every spec against botocore and against each other, so a new folder that would
route wrongly or start too early fails here, before any lab runs."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from chaoslab.aws.catalog import Catalog
from chaoslab.services import SERVICES
from chaoslab.services.spec import ServiceSpec, start_order

SERVICES_DIR = Path(inspect.getfile(ServiceSpec)).parent


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.package)
def test_each_spec_loads_its_model_and_is_signed_as_aws_signs_it(spec: ServiceSpec) -> None:
    svc = Catalog([spec]).model(spec.package)
    assert spec.signing_name in (svc.model.signing_name, svc.model.endpoint_prefix)
    assert importlib.import_module(f"chaoslab.services.{spec.package}").SERVICE is spec


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.package)
def test_each_handler_is_an_operation_of_the_model(spec: ServiceSpec) -> None:
    operations = spec.operations()
    assert operations, f"{spec.package}/api.py has no OPERATIONS"
    assert set(operations) <= set(Catalog([spec]).model(spec.package).model.operation_names)


def test_every_service_folder_is_listed_once() -> None:
    folders = {p.parent.name for p in SERVICES_DIR.glob("*/__init__.py")}
    assert sorted(s.package for s in SERVICES) == sorted(folders)


def test_signing_names_and_packages_are_unique() -> None:
    Catalog(SERVICES)  # raises on a duplicate
    with pytest.raises(ValueError, match="'monitoring'"):
        Catalog([*SERVICES, ServiceSpec(package="cw2", model="cloudwatch", signing_name="monitoring")])


def test_start_order_respects_after() -> None:
    ordered = [s.package for s in start_order(SERVICES)]
    for spec in SERVICES:
        assert all(ordered.index(dep) < ordered.index(spec.package) for dep in spec.after), spec.package


def _spec(package: str, *after: str) -> ServiceSpec:
    return ServiceSpec(package=package, model=package, signing_name=package, after=after)


def test_start_order_is_the_listed_order_where_after_allows() -> None:
    specs = [_spec("fis", "ec2"), _spec("iam"), _spec("ec2"), _spec("logs")]
    assert [s.package for s in start_order(specs)] == ["iam", "ec2", "fis", "logs"]


@pytest.mark.parametrize(
    ("specs", "problem"),
    [([_spec("a", "b"), _spec("b", "a")], "cycle"), ([_spec("a", "nope")], "unknown services: nope")],
)
def test_start_order_refuses_cycles_and_unknown_names(specs: list[ServiceSpec], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        start_order(specs)


def test_package_and_model_names_are_kept_apart() -> None:
    """A package name need not be botocore's (application-autoscaling's cannot be a package)."""
    spec = ServiceSpec(package="applicationautoscaling", model="application-autoscaling", signing_name="x")
    svc = Catalog([spec]).model("applicationautoscaling")
    assert svc.name == "application-autoscaling"
    assert Catalog([spec]).signed("x") == "applicationautoscaling"


def test_a_lab_builds_every_backend_from_its_spec_in_the_order_it_always_had(tmp_path: Path) -> None:
    from chaoslab.config import LabConfig
    from chaoslab.lab import Lab

    lab = Lab(LabConfig(home=tmp_path, api_port=0), network_mode="loopback")
    assert [type(b).__name__ for b in lab._backends()] == [
        "IamBackend",
        "CloudWatchBackend",
        "LogsBackend",
        "Ec2Backend",
        "ElbV2Backend",
        "RdsBackend",
        "AutoScalingBackend",
        "ServiceDiscoveryBackend",
        "EcsBackend",
        "ApplicationAutoScalingBackend",
        "SsmBackend",
        "FisBackend",
    ]
    assert lab.ec2.network_mode == "loopback"  # the lab's options reach the backend they are for
    assert not hasattr(lab, "sts")  # stateless: no backend
