"""ECS and EKS actions."""

from __future__ import annotations

from chaoslab.services.fis.catalogue.spec import ActionSpec, duration_of, flag, install, open_duration, percentage
from chaoslab.services.fis.params import Param, comma_list, enum, int_range, json_object

_NO_EKS = "the lab has no EKS clusters or Kubernetes pods"
_TASK_PERMISSIONS = ("ecs:DescribeTasks", "ssm:SendCommand", "ssm:ListCommands", "ssm:CancelCommand")
_POD_PERMISSIONS = ("eks:DescribeCluster", "ec2:DescribeSubnets", "tag:GetResources")

_SOURCES = Param(
    "Comma-separated sources without spaces: IPv4 addresses or CIDR blocks, domain names, AZ names "
    "or IDs, ALL, DYNAMODB, S3.",
    False,
    "ALL",
    comma_list(),
)
_FLOWS = percentage("Percentage (1-100) of network flows affected", False, "100")
_PORT = Param("The port number.", True, None, int_range(0, 65535))
_TRAFFIC = Param("ingress or egress.", True, None, enum("ingress", "egress"))
_DELAY = Param("The delay in milliseconds.", False, "200", int_range(0, 1_000_000))
_JITTER = Param("The jitter in milliseconds.", False, "10", int_range(0, 1_000_000))
_LOSS = Param("Percentage (0-100) of packets lost.", False, "7", int_range(0, 100))


def _task(suffix: str, description: str, params: dict[str, Param], extra: tuple[str, ...] = ()) -> ActionSpec:
    return ActionSpec(
        id=f"aws:ecs:task-{suffix}",
        description=description,
        parameters=params,
        targets={"Tasks": "aws:ecs:task"},
        permissions=_TASK_PERMISSIONS + extra,
        executor="ecs.task_" + suffix.replace("-", "_"),
        duration_param="duration" if "duration" in params else None,
    )


def _task_net(deps: str) -> dict[str, Param]:
    return {
        "duration": open_duration(),
        "installDependencies": install(deps),
        "useEcsFaultInjectionEndpoints": flag("Use the ECS fault injection endpoints."),
    }


def _pod(suffix: str, description: str, params: dict[str, Param], security_policy: bool = True) -> ActionSpec:
    common = {
        "kubernetesServiceAccount": Param("The Kubernetes service account FIS uses.", True),
        "fisPodContainerImage": Param("The image of the fault injector pod (default: FIS's own)."),
        "maxErrorsPercent": Param(
            "Percentage (0-100) of targets that may fail before the fault fails.", False, "0", int_range(0, 100)
        ),
        "fisPodLabels": Param("Kubernetes labels for FIS's orchestration pod."),
        "fisPodAnnotations": Param("Kubernetes annotations for FIS's orchestration pod."),
    }
    if security_policy:
        common["fisPodSecurityPolicy"] = Param(
            "Pod security standard: privileged, baseline or restricted.",
            False,
            None,
            enum("privileged", "baseline", "restricted"),
        )
    return ActionSpec(
        id=f"aws:eks:pod-{suffix}",
        description=description,
        parameters={**params, **common},
        targets={"Pods": "aws:eks:pod"},
        permissions=_POD_PERMISSIONS,
        unsupported=_NO_EKS,
        duration_param="duration" if "duration" in params else None,
    )


_INTERFACE = Param("Comma-separated network interfaces, ALL or DEFAULT.", False, "DEFAULT", comma_list(spaces=True))
_KINDS = {
    "chaos-mesh.org/v1alpha1": (
        "AWSChaos",
        "DNSChaos",
        "GCPChaos",
        "HTTPChaos",
        "IOChaos",
        "JVMChaos",
        "KernelChaos",
        "NetworkChaos",
        "PhysicalMachineChaos",
        "PodChaos",
        "PodHttpChaos",
        "PodIOChaos",
        "PodNetworkChaos",
        "Schedule",
        "StressChaos",
        "TimeChaos",
    ),
    "litmuschaos.io/v1alpha1": ("ChaosEngine",),
}

ECS_DRAIN_REASON = (
    "the lab's ECS has no EC2 container instances (every task runs Fargate-style as a process of "
    "its own; clusters report 0 registered container instances), so there is nothing to drain; "
    "to take capacity away use aws:ecs:stop-task on the tasks, or aws:ec2:stop-instances on instances"
)

ACTIONS: list[ActionSpec] = [
    ActionSpec(
        id="aws:ecs:drain-container-instances",
        description="Drain a percentage of the EC2 container instances of the target ECS clusters.",
        parameters={
            "drainagePercentage": percentage("Percentage (1-100) of container instances drained"),
            "duration": duration_of(),
        },
        targets={"Clusters": "aws:ecs:cluster"},
        permissions=(
            "ecs:DescribeClusters",
            "ecs:UpdateContainerInstancesState",
            "ecs:ListContainerInstances",
            "tag:GetResources",
        ),
        unsupported=ECS_DRAIN_REASON,
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:ecs:stop-task",
        description="Stop the target ECS tasks (StopTask).",
        targets={"Tasks": "aws:ecs:task"},
        permissions=("ecs:DescribeTasks", "ecs:ListTasks", "ecs:StopTask", "tag:GetResources"),
        executor="ecs.stop_task",
    ),
    _task(
        "cpu-stress",
        "Load the CPUs of the target tasks.",
        {
            "duration": open_duration(),
            "percent": Param("Target CPU load, 0-100 %.", False, "100", int_range(0, 100)),
            "workers": Param("Number of CPU stressors (0 = all).", False, "0", int_range(0, 1024)),
            "installDependencies": install("stress-ng"),
        },
    ),
    _task(
        "io-stress",
        "Load the file system I/O of the target tasks.",
        {
            "duration": open_duration(),
            "percent": Param("Percentage of free file system space used.", False, "80", int_range(1, 100)),
            "workers": Param("Number of I/O workers.", False, "1", int_range(1, 1024)),
            "installDependencies": install("stress-ng"),
        },
    ),
    _task(
        "kill-process",
        "Kill a process in the target tasks (killall; needs pidMode task).",
        {
            "processName": Param("The name of the process to kill.", True),
            "signal": Param("SIGTERM or SIGKILL.", False, "SIGTERM", enum("SIGTERM", "SIGKILL")),
            "installDependencies": install("killall"),
        },
    ),
    _task(
        "network-blackhole-port",
        "Drop the target tasks' traffic on one port and protocol.",
        {
            **_task_net("atd, curl-minimal, dig, jq"),
            "port": _PORT,
            "trafficType": _TRAFFIC,
            "protocol": Param("tcp or udp.", False, "tcp", enum("tcp", "udp")),
        },
    ),
    _task(
        "network-latency",
        "Add latency and jitter to the target tasks' egress traffic.",
        {
            **_task_net("atd, curl-minimal, dig, jq, lsof"),
            "delayMilliseconds": _DELAY,
            "jitterMilliseconds": _JITTER,
            "flowsPercent": _FLOWS,
            "sources": _SOURCES,
        },
        ("ecs:DescribeContainerInstances", "ec2:DescribeInstances", "ec2:DescribeSubnets"),
    ),
    _task(
        "network-packet-loss",
        "Drop a share of the target tasks' egress packets.",
        {
            **_task_net("atd, curl-minimal, dig, jq, lsof"),
            "lossPercent": _LOSS,
            "flowsPercent": _FLOWS,
            "sources": _SOURCES,
        },
        ("ecs:DescribeContainerInstances", "ec2:DescribeInstances", "ec2:DescribeSubnets"),
    ),
    ActionSpec(
        id="aws:eks:inject-kubernetes-custom-resource",
        description="Run a Chaos Mesh or Litmus experiment on one EKS cluster.",
        parameters={
            "kubernetesApiVersion": Param(
                "chaos-mesh.org/v1alpha1 or litmuschaos.io/v1alpha1.", True, None, enum(*_KINDS)
            ),
            "kubernetesKind": Param(
                "The custom resource kind (e.g. PodChaos, ChaosEngine).",
                True,
                None,
                enum(*sorted({k for kinds in _KINDS.values() for k in kinds})),
            ),
            "kubernetesNamespace": Param("The Kubernetes namespace.", True),
            "kubernetesSpec": Param("The custom resource's spec, as JSON.", True, None, json_object),
            "maxDuration": duration_of(what="The longest the experiment may run"),
        },
        targets={"Cluster": "aws:eks:cluster"},
        unsupported=_NO_EKS,
        duration_param="maxDuration",
        selection="single-arn",
    ),
    _pod(
        "cpu-stress",
        "Load the CPUs of the target pods.",
        {
            "duration": open_duration(),
            "percent": Param("Target CPU load, 0-100 %.", False, "100", int_range(0, 100)),
            "workers": Param("Number of CPU stressors (0 = all).", False, "0", int_range(0, 1024)),
        },
    ),
    _pod(
        "delete",
        "Delete the target pods.",
        {
            "gracePeriodSeconds": Param(
                "Seconds the pods get to stop gracefully (0 = at once; default: the pod's).",
                False,
                None,
                int_range(0, 1_000_000),
            )
        },
    ),
    _pod(
        "io-stress",
        "Load the file system I/O of the target pods.",
        {
            "duration": open_duration(),
            "workers": Param("Number of I/O workers.", False, "1", int_range(1, 1024)),
            "percent": Param("Percentage of free file system space used.", False, "80", int_range(1, 100)),
        },
    ),
    _pod(
        "memory-stress",
        "Use up memory in the target pods.",
        {
            "duration": open_duration(),
            "workers": Param("Number of memory stressors.", False, "1", int_range(1, 1024)),
            "percent": Param("Percentage of virtual memory used.", False, "80", int_range(1, 100)),
        },
    ),
    _pod(
        "network-blackhole-port",
        "Drop the target pods' traffic on one port and protocol.",
        {
            "duration": open_duration(),
            "protocol": Param("tcp or udp.", True, None, enum("tcp", "udp")),
            "trafficType": _TRAFFIC,
            "port": _PORT,
        },
        security_policy=False,
    ),
    _pod(
        "network-latency",
        "Add latency and jitter to the target pods' traffic (tc).",
        {
            "duration": open_duration(),
            "interface": _INTERFACE,
            "delayMilliseconds": _DELAY,
            "jitterMilliseconds": _JITTER,
            "flowsPercent": _FLOWS,
            "sources": _SOURCES,
        },
        security_policy=False,
    ),
    _pod(
        "network-packet-loss",
        "Drop a share of the target pods' packets (tc).",
        {
            "duration": open_duration(),
            "interface": _INTERFACE,
            "lossPercent": _LOSS,
            "flowsPercent": _FLOWS,
            "sources": _SOURCES,
        },
        security_policy=False,
    ),
    ActionSpec(
        id="aws:eks:terminate-nodegroup-instances",
        description="Terminate a percentage of the instances of the target EKS managed node groups.",
        parameters={"instanceTerminationPercentage": percentage("Percentage (1-100) of instances terminated")},
        targets={"Nodegroups": "aws:eks:nodegroup"},
        permissions=("ec2:DescribeInstances", "ec2:TerminateInstances", "eks:DescribeNodegroup", "tag:GetResources"),
        unsupported=_NO_EKS,
    ),
]
