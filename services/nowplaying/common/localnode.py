"""Local Cassandra 5.0 nodes owned by the project: ``nowplaying cassandra start [--nodes N]|stop|status``.

The server jars come from Maven Central (``make setup`` puts them in ``CASSANDRA_HOME/lib``); a node
runs as a plain JVM process on JDK 17 with its data, configuration, log and pid file under
``CASSANDRA_DATA_DIR``. ``start`` returns once CQL answers.

One node listens on 127.0.0.1. Several (``LocalCluster``, ``--nodes 3``) form one cluster on distinct
loopback addresses (``CASSANDRA_NODE_ADDRESSES``, 127.0.0.21-23), all on ``CASSANDRA_PORT`` and
``CASSANDRA_STORAGE_PORT``, each with its own JMX port (``CASSANDRA_JMX_PORT`` + i, i = 1..N) and its data under
``CASSANDRA_DATA_DIR/node<i>``. They are sized for a 2-core, 24 GiB machine: ``CASSANDRA_CLUSTER_HEAP``
(512M) each, small memtables, few concurrent reads and writes, one compactor. The first is the
seed; each owns one evenly spaced token, and a new cluster starts empty, so nothing bootstraps.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from nowplaying.common.config import CASSANDRA_VERSION, Settings
from nowplaying.common.logging import get_logger

log = get_logger(__name__)

JVM17_FLAGS = [
    "-XX:+UseG1GC", "-XX:+ParallelRefProcEnabled", "-XX:MaxTenuringThreshold=1", "-XX:G1HeapRegionSize=16m",
    "-XX:MaxGCPauseMillis=300", "-XX:InitiatingHeapOccupancyPercent=70", "-Xss256k",
    "-XX:+HeapDumpOnOutOfMemoryError", "-XX:+PerfDisableSharedMem", "-XX:ActiveProcessorCount=2",
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports", "java.management/com.sun.jmx.remote.security=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
    "--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports", "jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports", "jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens", "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true", "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11", "-Djava.net.preferIPv4Stack=true",
]  # fmt: skip

LOGBACK_XML = """<configuration scan="false">
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
"""


def _module_flags(flags: list[str]) -> list[str]:
    """The ``--add-exports`` / ``--add-opens`` pairs of a JVM command line (the tools need them too)."""
    picked: list[str] = []
    for flag, value in itertools.pairwise(flags):
        if flag in ("--add-exports", "--add-opens"):
            picked += [flag, value]
    return picked


class NodeError(RuntimeError):
    pass


@dataclass(frozen=True)
class NodePaths:
    base: Path

    @property
    def conf(self) -> Path:
        return self.base / "conf"

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "logs" / "cassandra.log"

    @property
    def pid_file(self) -> Path:
        return self.base / "cassandra.pid"


@dataclass(frozen=True)
class NodeSpec:
    """Where one node listens and what it owns: one node on 127.0.0.1 by default."""

    address: str = "127.0.0.1"
    seed: str = "127.0.0.1"
    initial_token: int = 0
    jmx_port: int | None = None  # None: CASSANDRA_JMX_PORT
    heap: str | None = None  # None: CASSANDRA_HEAP
    in_cluster: bool = False  # one of several nodes: smaller memtables and thread pools


def cluster_tokens(nodes: int) -> list[int]:
    """One Murmur3 token per node, evenly spaced over the ring."""
    return [-(2**63) + i * (2**64 // nodes) for i in range(nodes)]


def cassandra_yaml(paths: NodePaths, settings: Settings, spec: NodeSpec | None = None) -> str:
    spec = spec or NodeSpec()
    d = paths.data
    memtable, concurrent = ("64MiB", 8) if spec.in_cluster else ("256MiB", 16)
    cluster = (
        "auto_bootstrap: false            # a new cluster starts empty: nothing to stream\n"
        "hinted_handoff_enabled: true\n"
        "max_hint_window: 3h\n"
        # Hint delivery is throttled per delivery thread, the default 1024KiB/s split between the
        # other nodes: about 2 minutes per 60 MiB of hints. The peers here share one machine.
        "hinted_handoff_throttle: 4MiB\n"
        "native_transport_max_threads: 32\n"
        "compaction_throughput: 32MiB/s\n"
        if spec.in_cluster
        else ""
    )
    return f"""# Written by `nowplaying cassandra start`; edits are overwritten.
cluster_name: nowplaying-local
num_tokens: 1
initial_token: {spec.initial_token}
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{spec.seed}:{settings.cassandra_storage_port}"
listen_address: {spec.address}
rpc_address: {spec.address}
storage_port: {settings.cassandra_storage_port}
start_native_transport: true
native_transport_port: {settings.cassandra_port}
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
data_file_directories: [{d}/data]
commitlog_directory: {d}/commitlog
saved_caches_directory: {d}/saved_caches
hints_directory: {d}/hints
cdc_raw_directory: {d}/cdc_raw
cdc_enabled: false
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
memtable_heap_space: {memtable}
memtable_offheap_space: {memtable}
concurrent_reads: {concurrent}
concurrent_writes: {concurrent}
concurrent_counter_writes: 8
concurrent_compactors: 1
auto_snapshot: false
incremental_backups: false
batch_size_warn_threshold: 64KiB
batch_size_fail_threshold: 640KiB
read_request_timeout: 10000ms
write_request_timeout: 10000ms
range_request_timeout: 20000ms
request_timeout: 20000ms
{cluster}"""


def find_java(settings: Settings) -> Path:
    """A JDK 17 java binary, or a clear error (Cassandra 5.0 runs on 11 and 17 only)."""
    candidates: list[Path] = []
    if settings.java_home:
        candidates.append(Path(settings.java_home) / "bin" / "java")
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    candidates += [
        Path("/usr/lib/jvm/java-17-openjdk-amd64/bin/java"),
        Path("/usr/lib/jvm/java-17-openjdk/bin/java"),
    ]
    seen: list[str] = []
    for java in candidates:
        if not java.exists():
            continue
        version = java_major_version(java)
        seen.append(f"{java} ({version})")
        if version == 17:
            return java
    raise NodeError(
        "Cassandra 5.0 needs Java 17, and none was found"
        + (f" (found: {', '.join(seen)})" if seen else "")
        + ". Install OpenJDK 17 (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME to a JDK 17."
    )


def java_major_version(java: Path) -> int | None:
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class LocalNode:
    def __init__(self, settings: Settings, base: Path | None = None, spec: NodeSpec | None = None) -> None:
        self.settings = settings
        self.paths = NodePaths(Path(base or settings.cassandra_data_dir).resolve())
        self.spec = spec or NodeSpec()
        self.address = self.spec.address
        self.jmx_port = self.spec.jmx_port if self.spec.jmx_port is not None else settings.cassandra_jmx_port

    # --- state ------------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.paths.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"CassandraDaemon" not in cmdline.read_bytes():
            return None  # a stale pid file naming another process
        return pid

    def cql_ready(self) -> bool:
        return port_open(self.address, self.settings.cassandra_port)

    def release_version(self) -> str:
        from nowplaying.common.cassandra import connect, shutdown

        own = self.settings.model_copy(update={"cassandra_hosts": self.address})
        session = connect(own, deadline_s=5)
        try:
            row = session.execute("SELECT release_version FROM system.local").one()
            return str(row.release_version)
        finally:
            shutdown(session)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.paths.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    # --- commands ---------------------------------------------------------------------------
    def command(self, java: Path) -> list[str]:
        lib = Path(self.settings.cassandra_home) / "lib"
        heap = self.spec.heap or self.settings.cassandra_heap
        return [
            str(java), f"-Xms{heap}", f"-Xmx{heap}", *JVM17_FLAGS,
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.config=file://{self.paths.conf}/cassandra.yaml",
            f"-Dcassandra.storagedir={self.paths.data}",
            f"-Dcassandra.logdir={self.paths.log_file.parent}",
            f"-Dlogback.configurationFile=file://{self.paths.conf}/logback.xml",
            f"-Dcassandra.jmx.local.port={self.jmx_port}",
            "-Dcassandra.skip_wait_for_gossip_to_settle=0", "-Dcassandra.load_ring_state=false",
            "-cp", f"{self.paths.conf}:{lib}/*",
            "org.apache.cassandra.service.CassandraDaemon",
        ]  # fmt: skip

    def start(self, timeout_s: float | None = None) -> str:
        """Start the node (or find it running) and wait for CQL; returns the release version."""
        timeout_s = timeout_s or self.settings.cassandra_start_timeout_s
        proc = self.launch()
        self._wait_ready(proc.pid if proc else self.pid(), timeout_s, proc)
        version = self.release_version()
        if proc is not None:
            log.info("cassandra_ready", pid=proc.pid, address=self.address, release_version=version)
        return version

    def launch(self) -> subprocess.Popen[bytes] | None:
        """Start the node's JVM without waiting for it; None when it is running already."""
        if self.pid() is not None:
            return None
        lib = Path(self.settings.cassandra_home) / "lib"
        if not any(lib.glob("cassandra-all-*.jar")):
            raise NodeError(
                f"the Cassandra {CASSANDRA_VERSION} jars are not in {lib}; run `make setup` "
                "(or set CASSANDRA_HOME to a folder whose lib/ holds them)"
            )
        java = find_java(self.settings)
        for port, what in (
            (self.settings.cassandra_port, "CQL (CASSANDRA_PORT)"),
            (self.settings.cassandra_storage_port, "storage (CASSANDRA_STORAGE_PORT)"),
            (self.jmx_port, "JMX (CASSANDRA_JMX_PORT)"),
        ):
            if port_open(self.address if port != self.jmx_port else "127.0.0.1", port):
                raise NodeError(
                    f"port {port} for {what} is already taken by another process; stop it or choose another port"
                )
        for folder in (self.paths.conf, self.paths.data, self.paths.log_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        (self.paths.conf / "cassandra.yaml").write_text(cassandra_yaml(self.paths, self.settings, self.spec))
        (self.paths.conf / "logback.xml").write_text(LOGBACK_XML)
        with open(self.paths.log_file, "ab") as log_handle:
            proc = subprocess.Popen(
                self.command(java),
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.paths.base,
                start_new_session=True,  # Ctrl-C in a terminal does not reach the node directly
            )
        self.paths.pid_file.write_text(str(proc.pid))
        log.info(
            "cassandra_starting", pid=proc.pid, address=self.address, port=self.settings.cassandra_port,
            data=str(self.paths.base),
        )  # fmt: skip
        return proc

    def _wait_ready(self, pid: int | None, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise NodeError(
                    f"Cassandra exited with code {proc.returncode} during start. End of "
                    f"{self.paths.log_file}:\n{self.log_tail()}"
                )
            if self.cql_ready():
                return
            time.sleep(0.5)
        raise NodeError(
            f"Cassandra (pid {pid}) did not answer CQL on {self.address}:{self.settings.cassandra_port} within "
            f"{timeout_s:.0f} s. End of {self.paths.log_file}:\n{self.log_tail()}"
        )

    def kill(self) -> bool:
        """SIGKILL, as a crash would (for fault tests); the pid file stays. False if it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _gone(pid):
            time.sleep(0.1)
        return True

    def stop(self, timeout_s: float = 60.0) -> bool:
        """SIGTERM (the node drains), then SIGKILL after the timeout. False if it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            if _is_zombie(pid):
                break
            time.sleep(0.3)
        else:
            log.warning("cassandra_kill", pid=pid)
            os.kill(pid, signal.SIGKILL)
        self.paths.pid_file.unlink(missing_ok=True)
        # the ports are free only once the kernel has closed the node's sockets
        ports = ((self.address, self.settings.cassandra_port), (self.address, self.settings.cassandra_storage_port),
                 ("127.0.0.1", self.jmx_port))  # fmt: skip
        port_deadline = time.monotonic() + 30
        while any(port_open(host, port) for host, port in ports) and time.monotonic() < port_deadline:
            time.sleep(0.2)
        log.info("cassandra_stopped", pid=pid)
        return True

    def nodetool(self, *args: str, timeout_s: float = 120.0) -> str:
        """Run ``nodetool`` (the server's own, from its jars) against this node's JMX port; its output."""
        lib = Path(self.settings.cassandra_home) / "lib"
        command = [
            str(find_java(self.settings)), "-Xmx128M", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            *_module_flags(JVM17_FLAGS), "-cp", f"{lib}/*", "org.apache.cassandra.tools.NodeTool",
            "-h", "127.0.0.1", "-p", str(self.jmx_port), *args,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise NodeError(f"nodetool {' '.join(args)} failed ({done.returncode}): {done.stderr[-1500:]}")
        return "\n".join(line for line in done.stdout.splitlines() if " DEBUG " not in line)

    def status(self) -> dict[str, object]:
        pid = self.pid()
        ready = self.cql_ready() if pid else False
        info: dict[str, object] = {
            "running": pid is not None,
            "pid": pid,
            "address": self.address,
            "cql_port": self.settings.cassandra_port,
            "cql_ready": ready,
            "data_dir": str(self.paths.base),
        }
        if ready:
            try:
                info["release_version"] = self.release_version()
            except Exception as exc:
                info["error"] = str(exc)
        return info


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Exited and only waiting to be reaped. A JVM's main thread can show "Z" while its other threads
    still shut down (and hold the ports), so every thread must be gone too."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z" and len(threads) <= 1


class LocalCluster:
    """The project's local nodes: one on 127.0.0.1, or ``nodes`` on the loopback addresses of
    ``CASSANDRA_NODE_ADDRESSES`` (data in ``CASSANDRA_DATA_DIR/node<i>``), forming one cluster."""

    def __init__(self, settings: Settings, nodes: int | None = None) -> None:
        count = settings.cassandra_nodes if nodes is None else nodes
        self.settings = settings.model_copy(update={"cassandra_nodes": count})
        if count <= 1:
            self.nodes = [LocalNode(self.settings)]
            return
        addresses = self.settings.local_node_addresses
        tokens = cluster_tokens(count)
        base = Path(settings.cassandra_data_dir)
        self.nodes = [
            LocalNode(
                self.settings,
                base=base / f"node{i + 1}",
                spec=NodeSpec(
                    address=address,
                    seed=addresses[0],
                    initial_token=tokens[i],
                    jmx_port=settings.cassandra_jmx_port + 1 + i,  # beside a single node on JMX_PORT
                    heap=settings.cassandra_cluster_heap,
                    in_cluster=True,
                ),
            )
            for i, address in enumerate(addresses)
        ]

    @property
    def hosts(self) -> str:
        """The contact points of the nodes, as CASSANDRA_HOSTS takes them."""
        return ",".join(node.address for node in self.nodes)

    def start(self, timeout_s: float | None = None) -> str:
        """Start the seed, then the other nodes together; returns the release version once all answer."""
        timeout_s = timeout_s or self.settings.cassandra_start_timeout_s
        version = self.nodes[0].start(timeout_s)
        launched = [(node, node.launch()) for node in self.nodes[1:]]
        for node, proc in launched:
            node._wait_ready(proc.pid if proc else node.pid(), timeout_s, proc)
        if len(self.nodes) > 1:
            self.wait_all_up(timeout_s)
        return version

    def wait_all_up(self, timeout_s: float = 120.0) -> None:
        """Until each node lists every other one as a peer and the driver reaches them all, so a
        quorum write finds its replicas."""
        from nowplaying.common.cassandra import connect, shutdown

        deadline = time.monotonic() + timeout_s
        expected = {node.address for node in self.nodes}
        for node in self.nodes:
            own = self.settings.model_copy(update={"cassandra_hosts": node.address})
            session = connect(own, deadline_s=max(30.0, deadline - time.monotonic()))
            try:
                while True:
                    up = {host.address for host in session.cluster.metadata.all_hosts() if host.is_up}
                    if expected <= up:
                        break
                    if time.monotonic() > deadline:
                        raise NodeError(f"node {node.address} reaches only {sorted(up)} of {sorted(expected)}")
                    time.sleep(1.0)
            finally:
                shutdown(session)

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop every node (the single one and any cluster node found in the data folder)."""
        stopped = False
        for node in self._all_known():
            stopped = node.stop(timeout_s) or stopped
        return stopped

    def status(self) -> dict[str, object]:
        nodes = [node.status() for node in self._all_known() if node.pid() is not None] or [
            node.status() for node in self.nodes
        ]
        return {"running": any(bool(n["running"]) for n in nodes), "nodes": nodes}

    def _all_known(self) -> list[LocalNode]:
        """The configured nodes, plus any other node started from this data folder (e.g. a cluster
        started with ``--nodes 3`` while the settings say one), so ``stop`` stops them all."""
        known = {node.paths.base: node for node in self.nodes}
        base = Path(self.settings.cassandra_data_dir).resolve()
        if base not in known:
            known[base] = LocalNode(self.settings.model_copy(update={"cassandra_nodes": 1}))
        others = LocalCluster(self.settings, nodes=3).nodes if len(self.nodes) == 1 else []
        for node in others:
            known.setdefault(node.paths.base, node)
        return list(known.values())
