"""FAKE Aliyun ECS + VPC OpenAPI endpoint for tests — not Alibaba Cloud.

Aliyun's API cannot be reached from here, so the cloud provider is tested against this stand-in. It is
shaped like the documented API, not like our client:
- requests are verified with the documented V3 signature (``ACS3-HMAC-SHA256``: canonical request of method,
  URI, sorted RFC 3986-encoded query, sorted lower-case signed headers, hex SHA-256 of the body; HMAC-SHA256 of
  ``"ACS3-HMAC-SHA256\\n" + hex(sha256(canonical request))`` with the AccessKey secret). It is written here from the
  documentation ("V3 request structure and signature"), independently of the SDK's signer; a request whose
  signature, body hash, action header or nonce is wrong gets the documented error codes;
- RPC parameters are read from the query string (``Tag.1.Key``, ``InstanceId.1``, JSON-array strings such as
  ``InstanceIds='["i-1"]'``), responses are the documented JSON bodies (``Instances.Instance[]``,
  ``InstanceIdSets.InstanceIdSet[]``, ``Vpcs.Vpc[]`` …) with a ``RequestId``; errors are HTTP 4xx with
  ``{"RequestId", "HostId", "Code", "Message", "Recommend"}``;
- resources have the documented life cycles and dependencies: a VPC is ``Pending`` then ``Available``; instances
  go ``Pending`` → ``Starting`` → ``Running``; a running instance is deleted only with ``Force=true``; a security
  group, vSwitch or VPC that something still uses refuses deletion with ``DependencyViolation``.

Instances are the local SSH test hosts: each new instance takes the next address from ``ip_pool``; when it
reaches ``Running`` the key pair's public key is handed to ``on_instance_running(ip, public_key)`` (the test
writes it into that host's ``authorized_keys``), as cloud-init does on a real instance.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote_plus

ECS_VERSION = "2014-05-26"
VPC_VERSION = "2016-04-28"
REQUIRED_SIGNED = {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce",
                   "x-acs-version"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _enc(s: str) -> str:
    return quote(s, safe="~", encoding="utf-8")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))


def _parse_query(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in raw.split("&") if raw else []:
        k, _, v = part.partition("=")
        out[unquote_plus(k)] = unquote_plus(v)  # form encoding, as the SDK sends it: '+' is a space
    return out


def expected_signature(method: str, path: str, params: dict[str, str], headers: dict[str, str],
                       signed: list[str], body: bytes, secret: str) -> str:
    canon_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed)
    canonical = "\n".join([method, path or "/", canonical_query(params), canon_headers, ";".join(signed),
                           hashlib.sha256(body).hexdigest()])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def _tags(params: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in range(1, 21):
        key = params.get(f"Tag.{n}.Key")
        if key is None:
            break
        out[key] = params.get(f"Tag.{n}.Value", "")
    return out


def _indexed(params: dict[str, str], prefix: str) -> list[str]:
    out = []
    for n in range(1, 101):
        v = params.get(f"{prefix}.{n}")
        if v is None:
            break
        out.append(v)
    return out


def _json_list(params: dict[str, str], key: str) -> list[str] | None:
    raw = params.get(key)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ApiError(400, "InvalidParameter", f"The specified parameter {key} is not a JSON array.") from e
    if not isinstance(value, list):
        raise ApiError(400, "InvalidParameter", f"The specified parameter {key} is not a JSON array.")
    return [str(v) for v in value]


@dataclass
class Resource:
    kind: str
    id: str
    tags: dict[str, str]
    attrs: dict[str, Any] = field(default_factory=dict)
    status: str = "Available"
    polls: int = 0


@dataclass
class Call:
    action: str
    version: str
    params: dict[str, str]
    error: str | None


class FakeAliyun:
    """The fake endpoint's state; ``serve()`` starts it on 127.0.0.1 and returns ``host:port``."""

    def __init__(self, *, credentials: dict[str, str], ip_pool: list[str], region: str = "cn-test-1",
                 on_instance_running: Callable[[str, str | None], None] | None = None,
                 polls_until_running: int = 2) -> None:
        self.credentials = dict(credentials)
        self.ip_pool = list(ip_pool)
        self.region = region
        self.on_instance_running = on_instance_running
        self.polls_until_running = polls_until_running
        self.resources: dict[str, Resource] = {}
        self.calls: list[Call] = []
        self.fail_next: dict[str, ApiError] = {}  # action -> error raised once
        self.nonces: set[str] = set()
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- inspection helpers for tests --------------------------------------------------------------------
    def live(self, kind: str | None = None) -> list[Resource]:
        with self.lock:
            return [r for r in self.resources.values() if kind is None or r.kind == kind]

    def actions(self) -> list[str]:
        with self.lock:
            return [c.action for c in self.calls]

    # ---- server ------------------------------------------------------------------------------------------
    def serve(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self._handle()

            def do_GET(self) -> None:  # noqa: N802
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, raw_query = self.path.partition("?")
                status, payload = fake.handle(self.command, path, _parse_query(raw_query),
                                              {k.lower(): v for k, v in self.headers.items()}, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return f"127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- request handling --------------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, Any]]:
        request_id = str(uuid.uuid4()).upper()
        action = headers.get("x-acs-action", "")
        version = headers.get("x-acs-version", "")
        query = params
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params = {**params, **_parse_query(body.decode())}
        try:
            self._authenticate(method, path, query, headers, body)
            with self.lock:
                injected = self.fail_next.pop(action, None)
                if injected is not None:
                    raise injected
                if params.get("RegionId") not in (None, self.region):
                    raise ApiError(400, "InvalidRegionId.NotFound", "The specified RegionId does not exist.")
                handler = _HANDLERS.get((version, action))
                if handler is None:
                    raise ApiError(404, "InvalidAction.NotFound",
                                   f"Specified api is not found, please check your url and method. ({action})")
                result = handler(self, params)
                self.calls.append(Call(action, version, params, None))
        except ApiError as e:
            with self.lock:
                self.calls.append(Call(action, version, params, e.code))
            return e.status, {"RequestId": request_id, "HostId": headers.get("host", ""), "Code": e.code,
                              "Message": e.message, "Recommend": f"https://api.aliyun.com/troubleshoot?q={e.code}"}
        return 200, {"RequestId": request_id, **result}

    def _authenticate(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
                      body: bytes) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("ACS3-HMAC-SHA256 "):
            raise ApiError(400, "MissingAuthorization", "Authorization header is missing or not ACS3-HMAC-SHA256.")
        fields = dict(p.strip().split("=", 1) for p in auth[len("ACS3-HMAC-SHA256 "):].split(",") if "=" in p)
        ak = fields.get("Credential", "")
        secret = self.credentials.get(ak)
        if secret is None:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        signed = fields.get("SignedHeaders", "").split(";")
        if signed != sorted(signed) or not set(signed) >= REQUIRED_SIGNED:
            raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            raise ApiError(400, "InvalidContentSha256", "The x-acs-content-sha256 does not match the body.")
        want = expected_signature(method, path, params, headers, signed, body, secret)
        if not hmac.compare_digest(want, fields.get("Signature", "")):
            raise ApiError(400, "SignatureDoesNotMatch", "The request signature does not conform to Aliyun standards.")
        nonce = headers.get("x-acs-signature-nonce", "")
        with self.lock:
            if nonce in self.nonces:
                raise ApiError(400, "SignatureNonceUsed", "The request signature nonce has been used.")
            self.nonces.add(nonce)

    # ---- resources ---------------------------------------------------------------------------------------
    def _new(self, kind: str, prefix: str, params: dict[str, str], **attrs: Any) -> Resource:
        rid = f"{prefix}-{uuid.uuid4().hex[:20]}"
        r = Resource(kind, rid, _tags(params), attrs)
        self.resources[rid] = r
        return r

    def _get(self, kind: str, rid: str | None, code: str) -> Resource:
        r = self.resources.get(rid or "")
        if r is None or r.kind != kind:
            raise ApiError(404, code, f"The specified {kind} does not exist.")
        return r

    def _users(self, kind: str, key: str, rid: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.kind == kind and r.attrs.get(key) == rid]

    def _tick(self, r: Resource) -> None:
        """Advance a resource's life cycle one describe-poll at a time."""
        r.polls += 1
        if r.kind == "vpc" and r.status == "Pending" and r.polls >= 1:
            r.status = "Available"
        if r.kind == "instance" and r.status in ("Pending", "Starting"):
            if r.polls >= self.polls_until_running:
                r.status = "Running"
                if self.on_instance_running is not None:
                    key = self.resources.get("kp:" + str(r.attrs.get("KeyPairName")))
                    self.on_instance_running(r.attrs["ip"], key.attrs["PublicKeyBody"] if key else None)
            else:
                r.status = "Starting"

    def _match_tags(self, r: Resource, params: dict[str, str]) -> bool:
        want = _tags(params)
        return all(k in r.tags and (v == "" or r.tags[k] == v) for k, v in want.items())


def _tag_list(r: Resource, key_name: str = "TagKey", value_name: str = "TagValue") -> list[dict[str, str]]:
    return [{key_name: k, value_name: v} for k, v in r.tags.items()]


# ---- VPC 2016-04-28 ------------------------------------------------------------------------------------------
def create_vpc(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    r = f._new("vpc", "vpc", p, CidrBlock=p.get("CidrBlock", "172.16.0.0/12"), VpcName=p.get("VpcName", ""))
    r.status = "Pending"
    return {"VpcId": r.id, "VRouterId": "vrt-" + r.id[4:], "RouteTableId": "vtb-" + r.id[4:],
            "ResourceGroupId": "rg-default"}


def describe_vpcs(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    found = [r for r in f.live("vpc") if (not p.get("VpcId") or r.id in p["VpcId"].split(","))
             and f._match_tags(r, p)]
    for r in found:
        f._tick(r)
    vpcs = [{"VpcId": r.id, "Status": r.status, "CidrBlock": r.attrs["CidrBlock"], "VpcName": r.attrs["VpcName"],
             "RegionId": f.region, "Tags": {"Tag": _tag_list(r, "Key", "Value")}} for r in found]
    return {"TotalCount": len(vpcs), "PageNumber": 1, "PageSize": max(10, len(vpcs)), "Vpcs": {"Vpc": vpcs}}


def delete_vpc(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    r = f._get("vpc", p.get("VpcId"), "Forbidden.VpcNotFound")
    if f._users("vswitch", "VpcId", r.id):
        raise ApiError(400, "DependencyViolation.VSwitch", "Specified VPC has vSwitch(es) in it.")
    if f._users("sg", "VpcId", r.id):
        raise ApiError(400, "DependencyViolation.SecurityGroup", "Specified VPC has security group(s) in it.")
    del f.resources[r.id]
    return {}


def create_vswitch(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    vpc = f._get("vpc", p.get("VpcId"), "InvalidVpcId.NotFound")
    if vpc.status != "Available":
        raise ApiError(400, "IncorrectVpcStatus", "Current VPC status does not support this operation.")
    if not p.get("ZoneId") or not p.get("CidrBlock"):
        raise ApiError(400, "MissingParameter", "ZoneId and CidrBlock are mandatory for this action.")
    r = f._new("vswitch", "vsw", p, VpcId=vpc.id, ZoneId=p["ZoneId"], CidrBlock=p["CidrBlock"])
    return {"VSwitchId": r.id}


def describe_vswitches(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    found = [r for r in f.live("vswitch") if (not p.get("VSwitchId") or r.id == p["VSwitchId"])
             and (not p.get("VpcId") or r.attrs["VpcId"] == p["VpcId"]) and f._match_tags(r, p)]
    vsw = [{"VSwitchId": r.id, "VpcId": r.attrs["VpcId"], "Status": r.status, "ZoneId": r.attrs["ZoneId"],
            "CidrBlock": r.attrs["CidrBlock"], "Tags": {"Tag": _tag_list(r, "Key", "Value")}} for r in found]
    return {"TotalCount": len(vsw), "PageNumber": 1, "PageSize": max(10, len(vsw)), "VSwitches": {"VSwitch": vsw}}


def delete_vswitch(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    r = f._get("vswitch", p.get("VSwitchId"), "InvalidVSwitchId.NotFound")
    if f._users("instance", "VSwitchId", r.id):
        raise ApiError(400, "DependencyViolation", "Specified vSwitch has resource(s) in it.")
    del f.resources[r.id]
    return {}


# ---- ECS 2014-05-26 ------------------------------------------------------------------------------------------
def create_security_group(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    f._get("vpc", p.get("VpcId"), "InvalidVpcId.NotFound")
    r = f._new("sg", "sg", p, VpcId=p["VpcId"], rules=[])
    return {"SecurityGroupId": r.id}


def authorize_security_group(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    r = f._get("sg", p.get("SecurityGroupId"), "InvalidSecurityGroupId.NotFound")
    rule = {k: p[k] for k in ("IpProtocol", "PortRange", "SourceCidrIp") if k in p}
    if not rule.get("IpProtocol") or not rule.get("PortRange"):
        raise ApiError(400, "MissingParameter", "IpProtocol and PortRange are mandatory for this action.")
    r.attrs["rules"].append(rule)
    return {}


def describe_security_groups(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    found = [r for r in f.live("sg") if f._match_tags(r, p)]
    sgs = [{"SecurityGroupId": r.id, "VpcId": r.attrs["VpcId"], "Tags": {"Tag": _tag_list(r)}} for r in found]
    return {"TotalCount": len(sgs), "PageNumber": 1, "PageSize": max(10, len(sgs)),
            "SecurityGroups": {"SecurityGroup": sgs}}


def delete_security_group(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    r = f._get("sg", p.get("SecurityGroupId"), "InvalidSecurityGroupId.NotFound")
    if f._users("instance", "SecurityGroupId", r.id):
        raise ApiError(403, "DependencyViolation", "There is still instance(s) in the specified security group.")
    del f.resources[r.id]
    return {}


def import_key_pair(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    name = p.get("KeyPairName", "")
    body = p.get("PublicKeyBody", "")
    if not name or not body.startswith(("ssh-ed25519 ", "ssh-rsa ")):
        raise ApiError(400, "InvalidPublicKeyBody.Malformed", "The specified PublicKeyBody is malformed.")
    if "kp:" + name in f.resources:
        raise ApiError(400, "KeyPair.AlreadyExist", "The key pair already exists.")
    fp = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
    f.resources["kp:" + name] = Resource("keypair", "kp:" + name, _tags(p), {"PublicKeyBody": body, "Name": name})
    return {"KeyPairName": name, "KeyPairFingerPrint": fp}


def describe_key_pairs(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    found = [r for r in f.live("keypair") if f._match_tags(r, p)
             and (not p.get("KeyPairName") or r.attrs["Name"] == p["KeyPairName"])]
    kps = [{"KeyPairName": r.attrs["Name"], "Tags": {"Tag": _tag_list(r)}} for r in found]
    return {"TotalCount": len(kps), "PageNumber": 1, "PageSize": max(10, len(kps)), "KeyPairs": {"KeyPair": kps}}


def delete_key_pairs(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    names = _json_list(p, "KeyPairNames") or []
    for name in names:  # documented: names that do not exist are ignored
        f.resources.pop("kp:" + name, None)
    return {}


def run_instances(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    for key in ("ImageId", "InstanceType", "SecurityGroupId", "VSwitchId"):
        if not p.get(key):
            raise ApiError(400, "MissingParameter", f"The input parameter \"{key}\" that is mandatory for "
                                                    "processing this request is not supplied.")
    if p.get("InstanceChargeType", "PostPaid") != "PostPaid":
        raise ApiError(400, "InvalidInstanceChargeType.ValueNotSupported", "this fake only sells PostPaid")
    sg = f._get("sg", p["SecurityGroupId"], "InvalidSecurityGroupId.NotFound")
    vsw = f._get("vswitch", p["VSwitchId"], "InvalidVSwitchId.NotFound")
    if sg.attrs["VpcId"] != vsw.attrs["VpcId"]:
        raise ApiError(400, "InvalidSecurityGroup.NotInSameVpc", "security group and vSwitch are in different VPCs")
    key = p.get("KeyPairName")
    if key and "kp:" + key not in f.resources:
        raise ApiError(404, "InvalidKeyPairName.NotFound", "The specified KeyPairName does not exist.")
    amount = int(p.get("Amount", "1"))
    if amount > len(f.ip_pool):
        raise ApiError(403, "OperationDenied.NoStock", "The resource is out of stock in the specified zone.")
    ids = []
    for _ in range(amount):
        ip = f.ip_pool.pop(0)
        r = f._new("instance", "i", p, ip=ip, SecurityGroupId=sg.id, VSwitchId=vsw.id, VpcId=vsw.attrs["VpcId"],
                   KeyPairName=key, InstanceType=p["InstanceType"], ImageId=p["ImageId"],
                   InstanceName=p.get("InstanceName", ""), HasPassword=bool(p.get("Password")))
        r.status = "Pending"
        ids.append(r.id)
    return {"InstanceIdSets": {"InstanceIdSet": ids}, "OrderId": uuid.uuid4().hex[:15], "TradePrice": 0.0}


def describe_instances(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    wanted = _json_list(p, "InstanceIds")
    found = [r for r in f.live("instance") if (wanted is None or r.id in wanted) and f._match_tags(r, p)]
    for r in found:
        f._tick(r)
    out = [{"InstanceId": r.id, "InstanceName": r.attrs["InstanceName"], "Status": r.status, "RegionId": f.region,
            "InstanceType": r.attrs["InstanceType"], "ImageId": r.attrs["ImageId"], "InstanceChargeType": "PostPaid",
            "VpcAttributes": {"VpcId": r.attrs["VpcId"], "VSwitchId": r.attrs["VSwitchId"],
                              "PrivateIpAddress": {"IpAddress": [r.attrs["ip"]]}},
            "PublicIpAddress": {"IpAddress": []}, "SecurityGroupIds": {"SecurityGroupId": [r.attrs["SecurityGroupId"]]},
            "KeyPairName": r.attrs["KeyPairName"] or "", "Tags": {"Tag": _tag_list(r)}} for r in found]
    return {"TotalCount": len(out), "PageNumber": 1, "PageSize": max(10, len(out)), "Instances": {"Instance": out}}


def delete_instances(f: FakeAliyun, p: dict[str, str]) -> dict[str, Any]:
    ids = _indexed(p, "InstanceId")
    if not ids:
        raise ApiError(400, "MissingParameter", "The input parameter \"InstanceId\" is not supplied.")
    rs = [f._get("instance", i, "InvalidInstanceId.NotFound") for i in ids]
    force = p.get("Force", "false").lower() == "true"
    for r in rs:
        if r.status == "Running" and not force:
            raise ApiError(403, "IncorrectInstanceStatus", "The current status of the resource does not support "
                                                           "this operation.")
    for r in rs:
        f.ip_pool.append(r.attrs["ip"])
        del f.resources[r.id]
    return {}


_HANDLERS: dict[tuple[str, str], Callable[[FakeAliyun, dict[str, str]], dict[str, Any]]] = {
    (VPC_VERSION, "CreateVpc"): create_vpc,
    (VPC_VERSION, "DescribeVpcs"): describe_vpcs,
    (VPC_VERSION, "DeleteVpc"): delete_vpc,
    (VPC_VERSION, "CreateVSwitch"): create_vswitch,
    (VPC_VERSION, "DescribeVSwitches"): describe_vswitches,
    (VPC_VERSION, "DeleteVSwitch"): delete_vswitch,
    (ECS_VERSION, "CreateSecurityGroup"): create_security_group,
    (ECS_VERSION, "AuthorizeSecurityGroup"): authorize_security_group,
    (ECS_VERSION, "DescribeSecurityGroups"): describe_security_groups,
    (ECS_VERSION, "DeleteSecurityGroup"): delete_security_group,
    (ECS_VERSION, "ImportKeyPair"): import_key_pair,
    (ECS_VERSION, "DescribeKeyPairs"): describe_key_pairs,
    (ECS_VERSION, "DeleteKeyPairs"): delete_key_pairs,
    (ECS_VERSION, "RunInstances"): run_instances,
    (ECS_VERSION, "DescribeInstances"): describe_instances,
    (ECS_VERSION, "DeleteInstances"): delete_instances,
}
