"""Aliyun ECS nodes for ``sealer build -b cloud``, through Aliyun's official SDKs (ECS 2014-05-26, VPC 2016-04-28).

One build creates, in order: a VPC, a vSwitch, a security group (SSH plus all traffic inside the VPC), an SSH key
pair (generated here; the private key never leaves ``<state>/infra/<build-id>/``) and pay-as-you-go instances.
Every resource carries the tag ``sealer.io/build-id=<build-id>`` and is written to the build's ledger as soon as
its id is known; ``destroy()`` deletes them in reverse order (instances with ``Force``, then the key pair, the
security group, the vSwitch, the VPC), treats "not found" as already deleted, and finds resources by tag too, so a
crash between a create call and the ledger write loses nothing.

Requests are built from the documented parameter names (``RegionId``, ``Tag.N.Key``, ``SystemDisk.Category`` …)
and responses read by the documented field names, so the same code runs against Aliyun and against the test
suite's fake endpoint. Credentials come from the caller (the CLI reads the SDK's standard environment variables)
and are never logged.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealer.infra.providers.base import NodeSpec, ProviderError, ProvisionedCluster, ProvisionedNode
from sealer.infra.providers.ledger import Ledger
from sealer.infra.providers.sshkey import generate_key

log = logging.getLogger(__name__)

TAG_KEY = "sealer.io/build-id"
_NOT_FOUND = ("NotFound", "NotExist", "InvalidVpcId.NotFound", "Forbidden.VpcNotFound")
_DEPENDENCY = ("DependencyViolation", "IncorrectVpcStatus", "IncorrectInstanceStatus", "IncorrectStatus")


@dataclass(frozen=True)
class AliyunCredentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AliyunSettings:
    region: str = "cn-shanghai"
    zone: str | None = None  # default: "<region>-b"
    instance_type: str = "ecs.c6.xlarge"
    image_id: str = "centos_7_9_x64_20G_alibase_20230718.vhd"
    system_disk_category: str = "cloud_essd"
    system_disk_size: int = 100
    internet_max_bandwidth_out: int = 50  # Mbit/s; 0 = private addresses only (a build host inside the VPC)
    vpc_cidr: str = "172.16.0.0/12"
    vswitch_cidr: str = "172.16.0.0/24"
    ecs_endpoint: str | None = None  # default: ecs.<region>.aliyuncs.com
    vpc_endpoint: str | None = None  # default: vpc.<region>.aliyuncs.com
    protocol: str = "https"
    ssh_port: int = 22
    poll_interval: float = 2.0
    timeout: float = 600.0

    @property
    def zone_id(self) -> str:
        return self.zone or f"{self.region}-b"


class AliyunApiError(ProviderError):
    def __init__(self, action: str, code: str, message: str) -> None:
        self.action, self.code = action, code
        super().__init__(f"Aliyun {action}: {code}: {message}")


def _sdk() -> tuple[Any, Any, Any, Any, Any, Any]:
    """The SDK modules, imported on first use (they are large and only cloud builds need them)."""
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client as EcsClient
    from alibabacloud_tea_openapi import utils_models
    from alibabacloud_vpc20160428 import models as vpc_models
    from alibabacloud_vpc20160428.client import Client as VpcClient
    from darabonba.runtime import RuntimeOptions

    return ecs_models, EcsClient, utils_models, vpc_models, VpcClient, RuntimeOptions


def _tcp_ready(address: str, port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((address, port), timeout=2):
                return
        except OSError as e:
            if time.monotonic() > deadline:
                raise ProviderError(f"{address}:{port}: SSH is not reachable ({e})",
                                    "check the security group and that the build host can reach the nodes "
                                    "(private addresses need a build host inside the VPC)") from e
            time.sleep(0.5)


class AliyunProvider:
    """Pay-as-you-go ECS instances for one build; see the module docstring for what is created."""

    name = "aliyun"

    def __init__(self, credentials: AliyunCredentials, settings: AliyunSettings, *, build_id: str,
                 state_dir: Path, on_event: Callable[[str], None] | None = None) -> None:
        self.credentials = credentials
        self.settings = settings
        self.build_id = build_id
        self.state_dir = state_dir
        self.on_event = on_event or (lambda msg: None)
        self.ledger = Ledger(state_dir / "infra", build_id, self.name, settings.region)
        self._ecs: Any = None
        self._vpc: Any = None

    # ---- SDK plumbing ------------------------------------------------------------------------------------
    def _clients(self) -> tuple[Any, Any]:
        if self._ecs is None:
            _, EcsClient, utils_models, _, VpcClient, _ = _sdk()
            s, c = self.settings, self.credentials

            def config(endpoint: str) -> Any:
                return utils_models.Config(access_key_id=c.access_key_id, access_key_secret=c.access_key_secret,
                                           security_token=c.security_token, region_id=s.region,
                                           endpoint=endpoint, protocol=s.protocol, connect_timeout=10000,
                                           read_timeout=30000)

            self._ecs = EcsClient(config(s.ecs_endpoint or f"ecs.{s.region}.aliyuncs.com"))
            self._vpc = VpcClient(config(s.vpc_endpoint or f"vpc.{s.region}.aliyuncs.com"))
        return self._ecs, self._vpc

    def call(self, service: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call ``action`` with documented parameter names; return the documented response body."""
        ecs_models, _, _, vpc_models, _, RuntimeOptions = _sdk()
        ecs, vpc = self._clients()
        client, models = (ecs, ecs_models) if service == "ecs" else (vpc, vpc_models)
        request = getattr(models, f"{action}Request")().from_map({"RegionId": self.settings.region, **params})
        method = getattr(client, _snake(action) + "_with_options")
        try:
            response = method(request, RuntimeOptions(autoretry=True, max_attempts=3))
        except Exception as e:  # the SDK's exception classes all carry code/message
            code = str(getattr(e, "code", "") or type(e).__name__)
            message = str(getattr(e, "message", "") or e)
            if self.credentials.access_key_secret and self.credentials.access_key_secret in message:
                message = message.replace(self.credentials.access_key_secret, "***")
            raise AliyunApiError(action, code, message) from None
        body: dict[str, Any] = response.body.to_map()
        log.debug("aliyun %s ok (request %s)", action, body.get("RequestId"))
        return body

    def _tags(self) -> list[dict[str, str]]:
        return [{"Key": TAG_KEY, "Value": self.build_id}]

    def _wait(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.settings.timeout
        while not check():
            if time.monotonic() > deadline:
                raise ProviderError(f"timed out after {self.settings.timeout:.0f}s waiting for {what}",
                                    f"the resources are tagged {TAG_KEY}={self.build_id}; "
                                    f"`sealer infra delete {self.build_id}` removes them")
            time.sleep(self.settings.poll_interval)

    # ---- create ------------------------------------------------------------------------------------------
    def create(self, spec: NodeSpec) -> ProvisionedCluster:
        s = self.settings
        name = f"sealer-{self.build_id}"
        vpc_id = self._one("vpc", lambda: self.call("vpc", "CreateVpc", {
            "CidrBlock": s.vpc_cidr, "VpcName": name, "Tag": self._tags(), "ClientToken": f"{name}-vpc"})["VpcId"])
        self.on_event(f"VPC {vpc_id}")
        self._wait(f"VPC {vpc_id}", lambda: self._vpc_status(vpc_id) == "Available")
        vsw_id = self._one("vswitch", lambda: self.call("vpc", "CreateVSwitch", {
            "VpcId": vpc_id, "ZoneId": s.zone_id, "CidrBlock": s.vswitch_cidr, "VSwitchName": name,
            "Tag": self._tags(), "ClientToken": f"{name}-vsw"})["VSwitchId"])
        self.on_event(f"vSwitch {vsw_id} in {s.zone_id}")
        sg_created = not self.ledger.ids("security-group")
        sg_id = self._one("security-group", lambda: self.call("ecs", "CreateSecurityGroup", {
            "VpcId": vpc_id, "SecurityGroupName": name, "Description": "sealer cluster build",
            "Tag": self._tags(), "ClientToken": f"{name}-sg"})["SecurityGroupId"])
        if sg_created:
            for proto, ports, cidr in (("tcp", f"{s.ssh_port}/{s.ssh_port}", "0.0.0.0/0"),
                                       ("all", "-1/-1", s.vpc_cidr)):
                self.call("ecs", "AuthorizeSecurityGroup", {"SecurityGroupId": sg_id, "IpProtocol": proto,
                                                            "PortRange": ports, "SourceCidrIp": cidr})
        self.on_event(f"security group {sg_id}")
        key_path, public_key = generate_key(self.state_dir / "infra" / self.build_id)
        self._one("key-pair", lambda: self.call("ecs", "ImportKeyPair", {
            "KeyPairName": name, "PublicKeyBody": public_key, "Tag": self._tags()})["KeyPairName"])
        ids = self.ledger.ids("instance")
        if not ids:
            body = self.call("ecs", "RunInstances", {
                "ImageId": s.image_id, "InstanceType": s.instance_type, "SecurityGroupId": sg_id,
                "VSwitchId": vsw_id, "ZoneId": s.zone_id, "InstanceName": name, "HostName": name,
                "Amount": spec.total, "InstanceChargeType": "PostPaid", "KeyPairName": name,
                "InternetMaxBandwidthOut": s.internet_max_bandwidth_out,
                "SystemDisk": {"Category": s.system_disk_category, "Size": str(s.system_disk_size)},
                "Tag": self._tags(), "ClientToken": f"{name}-instances"})
            ids = list(body.get("InstanceIdSets", {}).get("InstanceIdSet", []))
            for i in ids:
                self.ledger.add("instance", i)
        self.on_event(f"{len(ids)} pay-as-you-go instances of {s.instance_type}")
        if len(ids) != spec.total:
            raise ProviderError(f"Aliyun RunInstances created {len(ids)} instances, {spec.total} were asked for")
        running: dict[str, dict[str, Any]] = {}

        def all_running() -> bool:
            for inst in self._describe_instances(ids):
                if inst.get("Status") == "Running":
                    running[inst["InstanceId"]] = inst
            return len(running) == len(ids)

        self._wait(f"instances {', '.join(ids)} to run", all_running)
        deadline = time.monotonic() + s.timeout
        nodes = []
        for n, iid in enumerate(ids):
            address = self._address(running[iid])
            _tcp_ready(address, s.ssh_port, deadline)
            nodes.append(ProvisionedNode(address, "master" if n < spec.masters else "node", iid))
        return ProvisionedCluster(tuple(nodes), user="root", private_key=key_path)

    def _one(self, kind: str, make: Callable[[], str]) -> str:
        existing = self.ledger.ids(kind)
        if existing:
            return existing[0]
        rid = make()
        self.ledger.add(kind, rid)
        return rid

    def _vpc_status(self, vpc_id: str) -> str | None:
        vpcs = self.call("vpc", "DescribeVpcs", {"VpcId": vpc_id}).get("Vpcs", {}).get("Vpc", [])
        return str(vpcs[0].get("Status")) if vpcs else None

    def _describe_instances(self, ids: list[str]) -> list[dict[str, Any]]:
        body = self.call("ecs", "DescribeInstances", {"InstanceIds": json.dumps(ids), "PageSize": 100})
        return list(body.get("Instances", {}).get("Instance", []))

    def _address(self, inst: dict[str, Any]) -> str:
        public = inst.get("PublicIpAddress", {}).get("IpAddress", [])
        private = inst.get("VpcAttributes", {}).get("PrivateIpAddress", {}).get("IpAddress", [])
        if self.settings.internet_max_bandwidth_out > 0 and public:
            return str(public[0])
        if not private:
            raise ProviderError(f"instance {inst.get('InstanceId')} has no address")
        return str(private[0])

    # ---- destroy -----------------------------------------------------------------------------------------
    def tagged(self, build_id: str | None = None) -> list[tuple[str, str, str]]:
        """``(kind, id, build id)`` of every resource carrying our tag (of one build, or of any)."""
        tag = [{"Key": TAG_KEY, "Value": build_id or ""}] if build_id else [{"Key": TAG_KEY}]
        out: list[tuple[str, str, str]] = []

        def owner(tags: list[dict[str, str]]) -> str:
            for t in tags:
                if t.get("TagKey", t.get("Key")) == TAG_KEY:
                    return str(t.get("TagValue", t.get("Value", "")))
            return ""

        for inst in self.call("ecs", "DescribeInstances", {"Tag": tag, "PageSize": 100}).get(
                "Instances", {}).get("Instance", []):
            out.append(("instance", inst["InstanceId"], owner(inst.get("Tags", {}).get("Tag", []))))
        for kp in self.call("ecs", "DescribeKeyPairs", {"Tag": tag, "PageSize": 50}).get(
                "KeyPairs", {}).get("KeyPair", []):
            out.append(("key-pair", kp["KeyPairName"], owner(kp.get("Tags", {}).get("Tag", []))))
        for sg in self.call("ecs", "DescribeSecurityGroups", {"Tag": tag, "PageSize": 50}).get(
                "SecurityGroups", {}).get("SecurityGroup", []):
            out.append(("security-group", sg["SecurityGroupId"], owner(sg.get("Tags", {}).get("Tag", []))))
        for vsw in self.call("vpc", "DescribeVSwitches", {"Tag": tag, "PageSize": 50}).get(
                "VSwitches", {}).get("VSwitch", []):
            out.append(("vswitch", vsw["VSwitchId"], owner(vsw.get("Tags", {}).get("Tag", []))))
        for vpc in self.call("vpc", "DescribeVpcs", {"Tag": tag, "PageSize": 50}).get("Vpcs", {}).get("Vpc", []):
            out.append(("vpc", vpc["VpcId"], owner(vpc.get("Tags", {}).get("Tag", []))))
        return out

    def destroy(self) -> list[str]:
        found = {(k, i) for k, i, _ in self.tagged(self.build_id)}
        found |= {(r["kind"], r["id"]) for r in self.ledger.record.resources}
        deleted: list[str] = []

        def ids(kind: str) -> list[str]:
            return sorted(i for k, i in found if k == kind)

        instances = ids("instance")
        if instances:
            present = [i["InstanceId"] for i in self._describe_instances(instances)]
            if present:
                self.call("ecs", "DeleteInstances", {"InstanceId": present, "Force": True})
            self._wait("instances to be released", lambda: not self._describe_instances(instances))
            self._forget("instance", instances, deleted)
        if ids("key-pair"):
            self.call("ecs", "DeleteKeyPairs", {"KeyPairNames": json.dumps(ids("key-pair"))})
            self._forget("key-pair", ids("key-pair"), deleted)
        for kind, service, action, key in (("security-group", "ecs", "DeleteSecurityGroup", "SecurityGroupId"),
                                           ("vswitch", "vpc", "DeleteVSwitch", "VSwitchId"),
                                           ("vpc", "vpc", "DeleteVpc", "VpcId")):
            for rid in ids(kind):
                self._delete_when_free(service, action, {key: rid})
                self._forget(kind, [rid], deleted)
        self.ledger.close()
        return deleted

    def _forget(self, kind: str, rids: list[str], deleted: list[str]) -> None:
        for rid in rids:
            self.ledger.remove(kind, rid)
            deleted.append(f"{kind} {rid}")
            self.on_event(f"deleted {kind} {rid}")

    def _delete_when_free(self, service: str, action: str, params: dict[str, Any]) -> None:
        """Delete, waiting while Aliyun still reports a dependency (instances take a while to go)."""
        deadline = time.monotonic() + self.settings.timeout
        while True:
            try:
                self.call(service, action, params)
                return
            except AliyunApiError as e:
                if any(m in e.code for m in _NOT_FOUND):
                    return
                if not any(e.code.startswith(d) for d in _DEPENDENCY) or time.monotonic() > deadline:
                    raise
                time.sleep(self.settings.poll_interval)


def _snake(action: str) -> str:
    """``CreateVSwitch`` → ``create_vswitch``, as the SDK names its methods."""
    action = action.replace("VSwitch", "Vswitch")
    out = []
    for i, ch in enumerate(action):
        if ch.isupper() and i and (not action[i - 1].isupper() or (i + 1 < len(action) and action[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
