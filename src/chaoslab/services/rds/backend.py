"""RDS semantics for Aurora PostgreSQL clusters (`lab.rds`).

Methods are named after the API operations and take/return boto3 shapes, so the API handlers, the
stack loader and the FIS engine drive the same code. A cluster is a real `AuroraCluster`; its
endpoints listen on every host in `bind_hosts` (plus any added later with `expose`). Deviations
from AWS are listed in docs/database.md.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.ids import arn
from chaoslab.net.hostsock import bind_listener, port_free
from chaoslab.services.rds.cluster import AuroraCluster, Delays
from chaoslab.services.rds.metrics import TreeSampler
from chaoslab.services.rds.models import DBCluster, DBInstance, dns_label
from chaoslab.services.rds.postgres import cleanup_owned, find_bindir

log = logging.getLogger(__name__)

ENGINES = ("aurora-postgresql",)
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*$")
_METRIC_PERIOD = 1.0


def _invalid(message: str, code: str = "InvalidParameterValue") -> AwsError:
    return AwsError(code, message, 400)


def _cluster_not_found(ident: str) -> AwsError:
    return AwsError("DBClusterNotFoundFault", f"DBCluster {ident} not found.", 404)


def _instance_not_found(ident: str) -> AwsError:
    return AwsError("DBInstanceNotFound", f"DBInstance {ident} not found.", 404)


def _strip_arn(ident: str, kind: str) -> str:
    """Identifiers may be given as ARNs (`arn:aws:rds:…:cluster:<id>`)."""
    marker = f":{kind}:"
    return ident.split(marker, 1)[1] if ident.startswith("arn:") and marker in ident else ident


def _port_on(host: str, preferred: int) -> int:
    """`preferred` if it can be bound on `host` now, else any free port there (on the host's
    loopback even when the lab lives in a namespace of its own)."""
    if port_free(host, preferred):
        return preferred
    with bind_listener(host, 0, backlog=1) as sock:
        return int(sock.getsockname()[1])


def _merge_tags(tags: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {t["Key"]: t.get("Value", "") for t in tags}
    merged.update({t["Key"]: t.get("Value", "") for t in new})
    return [{"Key": k, "Value": v} for k, v in merged.items()]


class RdsBackend:
    """Every DB cluster and instance in the lab, with their background operations and metrics."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.region: str = lab.config.region
        self.account: str = lab.config.account_id
        self.bind_hosts: list[str] = ["127.0.0.1"]
        self.min_failover_downtime = 0.0
        self.fsync = False
        self.clusters: dict[str, DBCluster] = {}
        self.instances: dict[str, DBInstance] = {}
        self._creating: set[str] = set()
        self._label = dns_label()
        self._samplers: dict[str, TreeSampler] = {}
        self._operations: set[asyncio.Task[Any]] = set()
        self._metrics_task: asyncio.Task[None] | None = None
        self._engine_version: str | None = None
        self._lag_queries: dict[str, asyncio.Task[dict[str, tuple[float, float | None]]]] = {}

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Kill postmasters a crashed lab left behind, then publish metrics every second."""
        store = getattr(self.lab, "store", None)
        if store is not None:
            await asyncio.to_thread(cleanup_owned, store)
        self._metrics_task = asyncio.get_running_loop().create_task(self._publish_metrics())

    async def stop(self) -> None:
        if self._metrics_task is not None:
            self._metrics_task.cancel()
            await asyncio.gather(self._metrics_task, return_exceptions=True)
            self._metrics_task = None
        await self.settle()
        await asyncio.gather(*self._lag_queries.values(), return_exceptions=True)
        for cluster in list(self.clusters.values()):
            await cluster.runtime.stop()
        self.clusters.clear()
        self.instances.clear()

    async def settle(self) -> None:
        """Wait for background failovers and reboots to finish."""
        while self._operations:
            await asyncio.gather(*self._operations, return_exceptions=True)

    def _background(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._operations.add(task)
        task.add_done_callback(self._operation_done)
        return task

    def _operation_done(self, task: asyncio.Task[Any]) -> None:
        self._operations.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("RDS background operation failed", exc_info=task.exception())

    # -- lookups -------------------------------------------------------------------------------
    def cluster(self, ident: str) -> DBCluster:
        key = _strip_arn(ident, "cluster")
        if key not in self.clusters:
            raise _cluster_not_found(key)
        return self.clusters[key]

    def instance(self, ident: str) -> DBInstance:
        key = _strip_arn(ident, "db")
        if key not in self.instances:
            raise _instance_not_found(key)
        return self.instances[key]

    def engine_version(self) -> str:
        """The version of the PostgreSQL binaries actually running (e.g. `15.8`)."""
        if self._engine_version is None:
            out = subprocess.run([str(find_bindir() / "postgres"), "-V"], capture_output=True, text=True, check=False)
            match = re.search(r"(\d+(?:\.\d+)?)", out.stdout)
            self._engine_version = match.group(1) if match else "15"
        return self._engine_version

    # -- clusters ------------------------------------------------------------------------------
    async def create_db_cluster(
        self,
        DBClusterIdentifier: str,
        Engine: str,
        MasterUsername: str | None = None,
        MasterUserPassword: str | None = None,
        DatabaseName: str | None = None,
        Port: int | None = None,
        AvailabilityZones: list[str] | None = None,
        Tags: list[dict[str, str]] | None = None,
        DeletionProtection: bool = False,
        EngineVersion: str | None = None,
        VpcSecurityGroupIds: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Open the cluster's endpoints; instances (real postmasters) come with CreateDBInstance.
        The endpoints admit from the VPC only what `VpcSecurityGroupIds` (none: the VPC's
        default group) admit."""
        ident = DBClusterIdentifier.lower()
        if not _IDENT.match(ident) or len(ident) > 63:
            raise _invalid(f"The parameter DBClusterIdentifier is not a valid identifier: {DBClusterIdentifier}")
        if ident in self.clusters or ident in self._creating:
            raise AwsError("DBClusterAlreadyExistsFault", f"DB Cluster already exists: {ident}", 400)
        if Engine not in ENGINES:
            raise _invalid(f"Invalid DB engine: {Engine}. chaoslab runs {', '.join(ENGINES)}.")
        if not MasterUsername or not MasterUserPassword:
            raise _invalid(
                "The parameters MasterUsername and MasterUserPassword must be specified.", "InvalidParameterCombination"
            )
        if len(MasterUserPassword) < 8:
            raise _invalid(
                "The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters."
            )
        port = int(Port or 5432)
        writer_binds = [(h, _port_on(h, port)) for h in self.bind_hosts]
        reader_binds = [(h, _port_on(h, port + 1)) for h in self.bind_hosts]
        runtime = AuroraCluster(
            ident,
            self.lab.config.home,
            master_username=MasterUsername,
            master_password=MasterUserPassword,
            database_name=DatabaseName,
            writer_binds=writer_binds,
            reader_binds=reader_binds,
            events=getattr(self.lab, "events", None),
            store=getattr(self.lab, "store", None),
            lab_run=str(getattr(self.lab, "run_id", "")),
            fsync=self.fsync,
            min_failover_downtime=self.min_failover_downtime,
            delays=Delays.of(self.lab.config.timing, self.lab.clock),
        )
        suffix = f"{self._label}.{self.region}.rds.amazonaws.com"
        cluster = DBCluster(
            identifier=ident,
            arn=arn("rds", self.region, self.account, f"cluster:{ident}"),
            engine=Engine,
            engine_version=EngineVersion or self.engine_version(),
            port=port,
            master_username=MasterUsername,
            database_name=DatabaseName,
            azs=list(AvailabilityZones or [f"{self.region}{z}" for z in "abc"]),
            endpoint_host=f"{ident}.cluster-{suffix}",
            reader_endpoint_host=f"{ident}.cluster-ro-{suffix}",
            runtime=runtime,
            deletion_protection=bool(DeletionProtection),
            tags=list(Tags or []),
        )
        self._creating.add(ident)  # a concurrent create of the same name must not start a second runtime
        try:
            await runtime.start()
        except BaseException:
            await runtime.stop()  # endpoints that did bind before the failure
            raise
        finally:
            self._creating.discard(ident)
        self.clusters[ident] = cluster
        cluster.vpc_security_groups = await self._guard(ident, writer_binds + reader_binds, port, VpcSecurityGroupIds)
        return {"DBCluster": cluster.describe()}

    async def _guard(self, ident: str, binds: list[tuple[str, int]], port: int, refs: list[str] | None) -> list[str]:
        """The cluster's groups on its endpoints in the lab's VPC (EC2 keeps and enforces them)."""
        ec2 = getattr(self.lab, "ec2", None)
        if ec2 is None:
            return list(refs or [])
        try:
            return list(await ec2.guard_listeners(f"rds:{ident}", binds, port, refs or []))
        except AwsError as exc:
            raise _invalid(exc.message) from None

    def describe_db_clusters(
        self, DBClusterIdentifier: str | None = None, Filters: list[dict[str, Any]] | None = None, **_: Any
    ) -> dict[str, Any]:
        clusters = [self.cluster(DBClusterIdentifier)] if DBClusterIdentifier else list(self.clusters.values())
        for f in Filters or []:
            values = {_strip_arn(v, "cluster") for v in f.get("Values", [])}
            if f["Name"] == "db-cluster-id":
                clusters = [c for c in clusters if c.identifier in values]
            elif f["Name"] == "engine":
                clusters = [c for c in clusters if c.engine in values]
            else:
                raise _invalid(f"Unrecognized filter name: {f['Name']}", "InvalidParameterValue")
        return {"DBClusters": [c.describe() for c in clusters]}

    async def delete_db_cluster(self, DBClusterIdentifier: str, **_: Any) -> dict[str, Any]:
        cluster = self.cluster(DBClusterIdentifier)
        if cluster.deletion_protection:
            raise _invalid(
                "Cannot delete protected Cluster, please disable deletion protection and try again.",
                "InvalidParameterCombination",
            )
        if cluster.instances:
            raise AwsError(
                "InvalidDBClusterStateFault",
                "Cluster cannot be deleted, it still contains DB instances in non-deleting state.",
                400,
            )
        if cluster.status != "available":
            raise AwsError("InvalidDBClusterStateFault", f"DBCluster {cluster.identifier} is {cluster.status}.", 400)
        await cluster.runtime.stop()
        ec2 = getattr(self.lab, "ec2", None)
        if ec2 is not None:
            await ec2.firewall.unguard(f"rds:{cluster.identifier}")
        view = cluster.describe()
        del self.clusters[cluster.identifier]
        return {"DBCluster": view}

    def failover_db_cluster(
        self, DBClusterIdentifier: str, TargetDBInstanceIdentifier: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """Start the failover and answer at once (status `failing-over`), as AWS does."""
        cluster = self.cluster(DBClusterIdentifier)
        if cluster.status != "available":
            raise AwsError(
                "InvalidDBClusterStateFault",
                f"DBCluster {cluster.identifier} is in {cluster.status} state, not available.",
                400,
            )
        target = _strip_arn(TargetDBInstanceIdentifier, "db") if TargetDBInstanceIdentifier else None
        cluster.runtime.pick_target(target)  # raises the AWS error for a bad or missing target
        cluster.runtime.status = "failing-over"
        self._background(cluster.runtime.failover(target))
        return {"DBCluster": cluster.describe()}

    # -- instances -----------------------------------------------------------------------------
    async def create_db_instance(
        self,
        DBInstanceIdentifier: str,
        DBInstanceClass: str = "db.r6g.large",
        Engine: str = "aurora-postgresql",
        DBClusterIdentifier: str | None = None,
        AvailabilityZone: str | None = None,
        PromotionTier: int | None = None,
        Tags: list[dict[str, str]] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Add a real postmaster to a cluster: the first is the writer, the rest stream from it."""
        ident = DBInstanceIdentifier.lower()
        if not _IDENT.match(ident) or len(ident) > 63:
            raise _invalid(f"The parameter DBInstanceIdentifier is not a valid identifier: {DBInstanceIdentifier}")
        if ident in self.instances:
            raise AwsError("DBInstanceAlreadyExists", f"DB instance already exists: {ident}", 400)
        if not DBClusterIdentifier:
            raise _invalid(
                "chaoslab runs Aurora instances only: DBClusterIdentifier is required.", "InvalidParameterCombination"
            )
        cluster = self.cluster(DBClusterIdentifier)
        if Engine != cluster.engine:
            raise _invalid(
                f"The engine {Engine} does not match the cluster's engine {cluster.engine}.",
                "InvalidParameterCombination",
            )
        if cluster.status != "available":
            raise AwsError("InvalidDBClusterStateFault", f"DBCluster {cluster.identifier} is {cluster.status}.", 400)
        az = AvailabilityZone or cluster.azs[len(cluster.instances) % len(cluster.azs)]
        tier = 1 if PromotionTier is None else int(PromotionTier)
        if not 0 <= tier <= 15:
            raise _invalid("PromotionTier must be between 0 and 15.")
        instance = DBInstance(
            identifier=ident,
            cluster_id=cluster.identifier,
            arn=arn("rds", self.region, self.account, f"db:{ident}"),
            az=az,
            instance_class=DBInstanceClass,
            engine=Engine,
            engine_version=cluster.engine_version,
            promotion_tier=tier,
            address=f"{ident}.{self._label}.{self.region}.rds.amazonaws.com",
            port=cluster.port,
            tags=list(Tags or []),
        )
        self.instances[ident] = instance
        cluster.instances.append(ident)
        try:
            await cluster.runtime.add_instance(ident, az, tier)
        except BaseException:
            del self.instances[ident]
            cluster.instances.remove(ident)
            raise
        return {"DBInstance": cluster.describe_instance(instance)}

    def describe_db_instances(
        self, DBInstanceIdentifier: str | None = None, Filters: list[dict[str, Any]] | None = None, **_: Any
    ) -> dict[str, Any]:
        instances = [self.instance(DBInstanceIdentifier)] if DBInstanceIdentifier else list(self.instances.values())
        for f in Filters or []:
            values = set(f.get("Values", []))
            if f["Name"] == "db-cluster-id":
                keep = {_strip_arn(v, "cluster") for v in values}
                instances = [i for i in instances if i.cluster_id in keep]
            elif f["Name"] == "db-instance-id":
                keep = {_strip_arn(v, "db") for v in values}
                instances = [i for i in instances if i.identifier in keep]
            elif f["Name"] == "engine":
                instances = [i for i in instances if i.engine in values]
            else:
                raise _invalid(f"Unrecognized filter name: {f['Name']}")
        return {"DBInstances": [self.clusters[i.cluster_id].describe_instance(i) for i in instances]}

    def reboot_db_instance(self, DBInstanceIdentifier: str, ForceFailover: bool = False, **_: Any) -> dict[str, Any]:
        """Start the reboot and answer at once (status `rebooting`)."""
        instance = self.instance(DBInstanceIdentifier)
        cluster = self.clusters[instance.cluster_id]
        member = cluster.runtime.members.get(instance.identifier)
        if member is None or member.status != "available" or cluster.status != "available":
            state = member.status if member else "deleting"
            raise AwsError(
                "InvalidDBInstanceState", f"DBInstance {instance.identifier} is {state}, not available.", 400
            )
        failover = bool(ForceFailover) and cluster.runtime.is_writer(instance.identifier) and cluster.runtime.readers
        if failover:
            cluster.runtime.status = "failing-over"
        member.status = "rebooting"
        self._background(cluster.runtime.reboot_instance(instance.identifier, force_failover=bool(ForceFailover)))
        return {"DBInstance": cluster.describe_instance(instance)}

    async def delete_db_instance(self, DBInstanceIdentifier: str, **_: Any) -> dict[str, Any]:
        """Stop and delete the instance; deleting the writer of a cluster with readers fails over first."""
        instance = self.instance(DBInstanceIdentifier)
        cluster = self.clusters[instance.cluster_id]
        if cluster.status != "available":
            raise AwsError("InvalidDBClusterStateFault", f"DBCluster {cluster.identifier} is {cluster.status}.", 400)
        await cluster.runtime.remove_instance(instance.identifier)
        view = cluster.describe_instance(instance)
        cluster.instances.remove(instance.identifier)
        del self.instances[instance.identifier]
        self._samplers.pop(instance.identifier, None)
        return {"DBInstance": view}

    # -- endpoints for the lab ---------------------------------------------------------------------
    async def expose(self, DBClusterIdentifier: str, host: str) -> dict[str, tuple[str, int]]:
        """Also serve the cluster's endpoints on `host` (e.g. a VPC's service address made after the
        cluster); returns the writer and reader binds there."""
        cluster = self.cluster(DBClusterIdentifier)
        writer = cluster.runtime.bind_of(cluster.runtime.writer_proxies, host)
        reader = cluster.runtime.bind_of(cluster.runtime.reader_proxies, host)
        if writer is None or reader is None:
            writer, reader = await cluster.runtime.expose(
                host, _port_on(host, cluster.port), _port_on(host, cluster.port + 1)
            )
        return {"writer": writer, "reader": reader}

    # -- tags ----------------------------------------------------------------------------------
    def _tagged(self, ResourceName: str) -> DBCluster | DBInstance:
        if ":cluster:" in ResourceName:
            return self.cluster(ResourceName)
        if ":db:" in ResourceName:
            return self.instance(ResourceName)
        raise _invalid(f"Invalid resource name: {ResourceName}")

    def list_tags_for_resource(self, ResourceName: str, **_: Any) -> dict[str, Any]:
        return {"TagList": [dict(t) for t in self._tagged(ResourceName).tags]}

    def add_tags_to_resource(self, ResourceName: str, Tags: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        resource = self._tagged(ResourceName)
        resource.tags = _merge_tags(resource.tags, Tags)
        return {}

    def remove_tags_from_resource(self, ResourceName: str, TagKeys: list[str], **_: Any) -> dict[str, Any]:
        resource = self._tagged(ResourceName)
        resource.tags = [t for t in resource.tags if t["Key"] not in set(TagKeys)]
        return {}

    # -- metrics -------------------------------------------------------------------------------
    async def replication_lag(self, timeout: float = 0.5) -> dict[str, tuple[float, float | None]]:
        """Reader instance id -> (WAL bytes behind its writer, replay lag seconds or None), for
        readers streaming now, asked of each cluster's writer. A writer that does not answer
        within `timeout` contributes nothing this time; its query keeps running (bounded by its
        own socket timeout) and the next call waits on it rather than starting another, so a
        paused writer costs at most one worker thread per cluster."""
        lags: dict[str, tuple[float, float | None]] = {}
        for cluster in list(self.clusters.values()):
            writer = cluster.runtime.writer
            if writer is None or writer.server.pid is None:
                continue
            query = self._lag_queries.get(cluster.identifier)
            if query is None or query.done():
                query = asyncio.get_running_loop().create_task(writer.server.replication_lag())
                query.add_done_callback(_retrieve)  # a late failure is expected, not news
                self._lag_queries[cluster.identifier] = query
            try:
                by_server = await asyncio.wait_for(asyncio.shield(query), timeout)
            except Exception:  # down, paused, restarting or failing over: no lag to report
                continue
            for member in list(cluster.runtime.members.values()):
                if member.server.name in by_server:
                    lags[member.instance_id] = by_server[member.server.name]
        return lags

    async def _publish_metrics(self) -> None:
        while True:
            await asyncio.sleep(self.lab.clock.cadence(_METRIC_PERIOD))
            try:
                self.publish_metrics()
            except Exception:
                log.exception("publishing RDS metrics failed")

    def publish_metrics(self) -> None:
        """One sample per running instance, per instance and per cluster role, as RDS reports them."""
        cloudwatch = getattr(self.lab, "cloudwatch", None)
        if cloudwatch is None:
            return
        for cluster in self.clusters.values():
            for ident, member in list(cluster.runtime.members.items()):
                pid = member.server.pid
                if pid is None:
                    continue
                cpu, connections = self._samplers.setdefault(ident, TreeSampler()).sample(pid)
                role = "WRITER" if cluster.runtime.is_writer(ident) else "READER"
                for dims in (
                    {"DBInstanceIdentifier": ident},
                    {"DBClusterIdentifier": cluster.identifier, "Role": role},
                ):
                    cloudwatch.put_metric("AWS/RDS", "CPUUtilization", dims, [cpu], "Percent")
                    cloudwatch.put_metric("AWS/RDS", "DatabaseConnections", dims, [float(connections)], "Count")


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
