"""Network actions, Direct Connect, and ARC's zonal autoshift (FIS's recovery action)."""

from __future__ import annotations

from chaoslab.services.fis.catalogue.spec import ActionSpec, duration_of, open_duration
from chaoslab.services.fis.params import Param, comma_list, enum, region

_SCOPES = ("all", "availability-zone", "dynamodb", "prefix-list", "s3", "s3express", "vpc")
_REGION = Param("The Region to isolate, e.g. eu-west-1.", True, None, region)
_ONE_REGION = "the lab runs in one Region, so there is no cross-Region traffic to block"

ACTIONS: list[ActionSpec] = [
    ActionSpec(
        id="aws:network:disrupt-connectivity",
        description="Deny traffic to and from the target subnets (a cloned network ACL with deny rules).",
        parameters={
            "duration": duration_of(),
            "scope": Param("What to deny: " + ", ".join(_SCOPES) + ".", False, "all", enum(*_SCOPES)),
            "prefixListIdentifier": Param("The customer-managed prefix list (name, ID or ARN) for scope prefix-list."),
        },
        targets={"Subnets": "aws:ec2:subnet"},
        permissions=(
            "ec2:CreateNetworkAcl",
            "ec2:CreateNetworkAclEntry",
            "ec2:CreateTags",
            "ec2:DeleteNetworkAcl",
            "ec2:DescribeManagedPrefixLists",
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "ec2:GetManagedPrefixListEntries",
            "ec2:ReplaceNetworkAclAssociation",
        ),
        executor="network.disrupt_connectivity",
        duration_param="duration",
        lab_values={"scope": ("all", "availability-zone")},
    ),
    ActionSpec(
        id="aws:network:route-table-disrupt-cross-region-connectivity",
        description="Block traffic from the target subnets to another Region (route tables FIS creates).",
        parameters={"region": _REGION, "duration": open_duration()},
        targets={"Subnets": "aws:ec2:subnet"},
        permissions=(
            "ec2:AssociateRouteTable",
            "ec2:CreateManagedPrefixList",
            "ec2:CreateNetworkInterface",
            "ec2:CreateRoute",
            "ec2:CreateRouteTable",
            "ec2:CreateTags",
            "ec2:DeleteManagedPrefixList",
            "ec2:DeleteNetworkInterface",
            "ec2:DeleteRouteTable",
            "ec2:DescribeManagedPrefixLists",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeVpcs",
            "ec2:DisassociateRouteTable",
            "ec2:GetManagedPrefixListEntries",
            "ec2:ModifyManagedPrefixList",
            "ec2:ModifyVpcEndpoint",
            "ec2:ReplaceRouteTableAssociation",
        ),
        unsupported=_ONE_REGION,
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:network:transit-gateway-disrupt-cross-region-connectivity",
        description="Block traffic from the target transit gateways' peering attachments to another Region.",
        parameters={"region": _REGION, "duration": open_duration()},
        targets={"TransitGateways": "aws:ec2:transit-gateway"},
        permissions=(
            "ec2:AssociateTransitGatewayRouteTable",
            "ec2:DescribeTransitGatewayAttachments",
            "ec2:DescribeTransitGatewayPeeringAttachments",
            "ec2:DescribeTransitGateways",
            "ec2:DisassociateTransitGatewayRouteTable",
        ),
        unsupported="the lab has no transit gateways",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:network:disrupt-vpc-endpoint",
        description="Block traffic to and from the target interface VPC endpoints (an empty security group).",
        parameters={"duration": open_duration()},
        targets={"VPCEndpoints": "aws:ec2:vpc-endpoint"},
        permissions=(
            "ec2:DescribeVpcEndpoints",
            "ec2:DescribeSecurityGroups",
            "ec2:ModifyVpcEndpoint",
            "ec2:CreateSecurityGroup",
            "ec2:DeleteSecurityGroup",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:CreateTags",
        ),
        unsupported="the lab has no VPC endpoints",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:directconnect:virtual-interface-disconnect",
        description="Take down the BGP sessions of the target Direct Connect virtual interfaces.",
        parameters={"duration": duration_of("PT10M")},
        targets={"VirtualInterfaces": "aws:directconnect:virtual-interface"},
        permissions=(
            "directconnect:DescribeVirtualInterfaces",
            "directconnect:StartBgpFailoverTest",
            "directconnect:ListVirtualInterfaceTestHistory",
            "directconnect:StopBgpFailoverTest",
            "tag:GetResources",
        ),
        unsupported="the lab has no Direct Connect virtual interfaces",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:arc:start-zonal-autoshift",
        description="Shift the target resources' traffic away from one Availability Zone (ARC zonal shift).",
        parameters={
            "duration": open_duration("How long traffic stays shifted"),
            "availabilityZoneIdentifier": Param("The AZ (name or ID) traffic moves away from.", True),
            "managedResourceTypes": Param(
                "Comma-separated resource types to shift: ASG, ALB, NLB, EKS.",
                False,
                None,
                comma_list(enum("ASG", "ALB", "NLB", "EKS"), spaces=True),
            ),
            "zonalAutoshiftStatus": Param(
                "ENABLED, DISABLED or ANY.", False, "ENABLED", enum("ENABLED", "DISABLED", "ANY")
            ),
        },
        targets={"ManagedResources": "aws:arc:zonal-shift-managed-resource"},
        permissions=(
            "arc-zonal-shift:StartZonalShift",
            "arc-zonal-shift:GetManagedResource",
            "arc-zonal-shift:UpdateZonalShift",
            "arc-zonal-shift:CancelZonalShift",
            "arc-zonal-shift:ListManagedResources",
            "autoscaling:DescribeTags",
            "tag:GetResources",
        ),
        executor="arc.start_zonal_autoshift",
        # The lab's load balancers and groups count as having zonal autoshift ENABLED.
        lab_values={"zonalAutoshiftStatus": ("ENABLED", "ANY")},
        duration_param="duration",
    ),
]
