"""Hosts for the scale-out test: each one a Linux network namespace joined to this machine by a
veth pair, so its processes share nothing with the others but what crosses the network.

Host k has the address 10.<net>.<k>.2; this machine is 10.<net>.<k>.1 on that link, where a small
TCP relay forwards the shared services (PostgreSQL, Redis, the S3 server, SMTP), which listen on
127.0.0.1 only, to their real ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


def namespaces_unavailable() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if not shutil.which("ip"):
        return "the ip command (iproute2) is missing"
    probe = f"grants-probe-{os.getpid()}"
    try:
        _run("ip", "netns", "add", probe)
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return f"ip netns add failed: {detail.decode(errors='replace').strip() or exc}"
    _run("ip", "netns", "delete", probe)
    return None


class Relay:
    """Accepts on (host, port) and pipes each connection to 127.0.0.1:target."""

    def __init__(self, host: str, port: int, target: int):
        self.target = target
        self.server = socket.create_server((host, port), reuse_port=False)
        self.server.settimeout(0.2)
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _addr = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed.set()
        self.server.close()


@dataclass
class Host:
    name: str
    namespace: str
    address: str  # the host's own address
    gateway: str  # this machine's address on the host's link (where the relays listen)
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list = field(default_factory=list)

    def start(self, argv: list[str], env: dict, log_path) -> subprocess.Popen:
        log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.logs.append((log_path, log))
        process = subprocess.Popen(["ip", "netns", "exec", self.namespace, *argv], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for _path, log in self.logs:
            log.close()

    def output(self) -> str:
        return "\n".join(f"--- {path}\n{path.read_text(errors='replace')}" for path, _log in self.logs)


class Network:
    """Namespaces with veth links and relays for the shared services; removed on close()."""

    def __init__(self, service_ports: list[int]):
        self.net = 100 + os.getpid() % 150  # 10.<net>.k.0/24 per host: distinct from a parallel run
        self.tag = f"{os.getpid() % 100000:05d}"
        self.service_ports = service_ports
        self.hosts: list[Host] = []
        self.relays: list[Relay] = []

    def add_host(self, name: str) -> Host:
        k = len(self.hosts) + 1
        namespace = f"grants-{self.tag}-{name}"
        outside, inside = f"gv{self.tag}{k}o", f"gv{self.tag}{k}i"
        gateway, address = f"10.{self.net}.{k}.1", f"10.{self.net}.{k}.2"
        _run("ip", "netns", "add", namespace)
        host = Host(name, namespace, address, gateway)
        self.hosts.append(host)
        _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        _run("ip", "link", "set", inside, "netns", namespace)
        _run("ip", "addr", "add", f"{gateway}/24", "dev", outside)
        _run("ip", "link", "set", outside, "up")
        _run("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{address}/24", "dev", inside)
        _run("ip", "netns", "exec", namespace, "ip", "link", "set", inside, "up")
        _run("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        for port in self.service_ports:
            self.relays.append(Relay(gateway, port, port))
        return host

    def close(self) -> None:
        for host in self.hosts:
            host.stop()
        for relay in self.relays:
            relay.close()
        for host in self.hosts:
            subprocess.run(["ip", "netns", "delete", host.namespace], capture_output=True, timeout=30)


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Poll `url` until it answers 200 (the process must still be running)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        threading.Event().wait(0.1)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s: {last}")
