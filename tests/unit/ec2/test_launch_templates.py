"""Launch template versions, as EC2 numbers and resolves them.
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/manage-launch-template-versions.html"""

from __future__ import annotations

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.ec2.launch_templates import LaunchTemplates, version_record


def test_versions_count_from_one_and_latest_moves_while_default_stays() -> None:
    store = LaunchTemplates()
    lt = store.create("web", {"ImageId": "ami-1"})
    store.create_version(lt, {"ImageId": "ami-2"})
    assert (lt.version("$Latest").number, lt.version("$Default").number, lt.version(None).number) == (2, 1, 1)
    store.set_default(lt, "2")
    assert lt.version("$Default").data == {"ImageId": "ami-2"}
    store.set_default(lt, "$Latest")
    assert lt.default == 2


def test_a_version_from_a_source_keeps_the_sources_members_the_request_does_not_replace() -> None:
    store = LaunchTemplates()
    lt = store.create("web", {"ImageId": "ami-1", "InstanceType": "t3.micro", "UserData": "IyEvYmluL3No"})
    v2 = store.create_version(lt, {"InstanceType": "t3.large"}, source_version="1")
    assert v2.data == {"ImageId": "ami-1", "InstanceType": "t3.large", "UserData": "IyEvYmluL3No"}
    v3 = store.create_version(lt, {"InstanceType": "t3.small"})  # no source: only what is given
    assert v3.data == {"InstanceType": "t3.small"}
    assert lt.versions[0].data["InstanceType"] == "t3.micro"  # versions never change


def test_describing_a_version_says_whether_it_is_the_default() -> None:
    store = LaunchTemplates()
    lt = store.create("web", {"ImageId": "ami-1"})
    v2 = store.create_version(lt, {"ImageId": "ami-2"})
    assert version_record(lt, lt.versions[0], "1")["DefaultVersion"] is True
    assert version_record(lt, v2, "1")["DefaultVersion"] is False


@pytest.mark.parametrize(
    "spec, code",
    [
        ("3", "InvalidLaunchTemplateId.VersionNotFound"),
        ("0", "InvalidLaunchTemplateId.VersionNotFound"),
        ("latest", "InvalidLaunchTemplateVersion"),
    ],
)
def test_unknown_versions_are_refused(spec: str, code: str) -> None:
    store = LaunchTemplates()
    lt = store.create("web", {"ImageId": "ami-1"})
    store.create_version(lt, {"ImageId": "ami-2"})
    with pytest.raises(AwsError) as err:
        lt.version(spec)
    assert err.value.code == code
    with pytest.raises(AwsError):
        store.set_default(lt, spec)
    assert lt.default == 1


def test_names_are_unique_and_templates_are_found_by_id_or_name_only() -> None:
    store = LaunchTemplates()
    lt = store.create("web", {})
    with pytest.raises(AwsError) as err:
        store.create("web", {})
    assert err.value.code == "InvalidLaunchTemplateName.AlreadyExistsException"
    assert store.get(template_id=lt.template_id) is store.get(name="web") is lt
    with pytest.raises(AwsError) as err:
        store.get(name="nope")
    assert err.value.code == "InvalidLaunchTemplateName.NotFoundException"
    with pytest.raises(AwsError) as err:
        store.get(template_id="lt-0123456789abcdef0")
    assert err.value.code == "InvalidLaunchTemplateId.NotFound"
    with pytest.raises(AwsError):
        store.get(lt.template_id, "web")  # both
    with pytest.raises(AwsError) as err:
        store.create("a b", {})
    assert err.value.code == "InvalidLaunchTemplateName.MalformedException"
