"""Programs started as forks of a server that has imported the frameworks (fork_server.py).

``fork_servers`` (a session fixture in conftest.py) starts one server per backend on first
use. ``fork_servers["jax"].start(argv, cwd=..., log=..., env=..., module="keras_wgan")``
(or ``script=PATH``) returns a process with what the tests use of ``subprocess.Popen``:
``pid``, ``returncode``, ``poll``, ``wait``, ``send_signal`` and ``kill``. Its output
(stdout and stderr) goes to the file ``log``; ``env`` is added to the server's.
"""

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(HERE, "fork_server.py")
START_TIMEOUT_S = 300


class ForkedProcess:
    def __init__(self, server, pid):
        self._server, self.pid, self.returncode = server, pid, None

    def poll(self):
        self._server.read(0)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"forked pid {self.pid}", timeout)
            self._server.read(0.05)
        return self.returncode

    def send_signal(self, number):
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it has just ended
                os.kill(self.pid, number)

    def kill(self):
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """One server process for one backend; its children's exits come back as lines."""

    def __init__(self, backend, env=None):
        environment = {**os.environ, **(env or {}), "KERAS_BACKEND": backend}
        self.backend, self.env = backend, environment
        self._process = subprocess.Popen([sys.executable, SERVER], env=environment,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._children, self._lines, self._ended, self._partial = {}, [], {}, b""
        self._expect("ready", START_TIMEOUT_S)

    def start(self, argv, *, cwd, log, env=None, module=None, script=None):
        """``python -m MODULE ARGV`` (or ``python SCRIPT ARGV``) in ``cwd``, output to ``log``."""
        assert (module is None) != (script is None), "module or script"
        request = {"argv": [str(a) for a in argv], "cwd": str(cwd), "log": str(log),
                   "env": {k: str(v) for k, v in {**self.env, **(env or {})}.items()}}
        request.update({"module": module} if module else {"script": str(script)})
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        answer = self._expect(("pid", "error"), 60)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        process = self._children[answer["pid"]] = ForkedProcess(self, answer["pid"])
        process.returncode = self._ended.pop(process.pid, None)  # it may have ended already
        return process

    def read(self, timeout):
        """Take the lines the server has written (waiting up to ``timeout`` s for one).
        Unbuffered: a line read ahead into a buffer would wait there unseen by select."""
        fd = self._process.stdout.fileno()
        while select.select([fd], [], [], timeout)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"the {self.backend} fork server ended "
                                   f"(exit status {self._process.wait()})")
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            for line in lines:
                self._take(json.loads(line))
            timeout = 0

    def _take(self, message):
        if "ended" in message and message["ended"] in self._children:
            self._children[message["ended"]].returncode = message["returncode"]
        elif "ended" in message:  # before its "pid" line was taken
            self._ended[message["ended"]] = message["returncode"]
        else:
            self._lines.append(message)

    def _expect(self, keys, timeout):
        keys = (keys,) if isinstance(keys, str) else keys
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self._lines):
                if any(key in message for key in keys):
                    return self._lines.pop(i)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {self.backend} fork server did not answer "
                                   f"{keys} in {timeout} s")
            self.read(0.1)

    def close(self):
        for child in self._children.values():
            if child.poll() is None:
                child.kill()
        self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class ForkServers:
    """A server per backend, started on first use, closed with the session."""

    def __init__(self):
        self._servers = {}

    def __getitem__(self, backend):
        if backend not in self._servers:
            self._servers[backend] = ForkServer(backend)
        return self._servers[backend]

    def close(self):
        for server in self._servers.values():
            server.close()
