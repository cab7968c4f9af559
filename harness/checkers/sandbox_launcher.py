"""The trampoline between the harness and model-written code: run as a script, with an empty environment.

Started by harness/checkers/sandbox_exec.py as `python -I -S sandbox_launcher.py <config json>`; it imports
nothing from the harness (the standard library only) and holds no secret. In order, it:

1. makes itself non-dumpable (its /proc/<pid>/environ and memory are closed to processes of the same user)
   and a child subreaper (descendants that lose their parent are re-parented to it, not to init);
2. as root, drops to the unprivileged `drop_uid` (no capabilities, so no CAP_SYS_PTRACE over the harness);
3. enters new user, network and mount namespaces (`unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS)`, its
   return value checked; without a mount namespace where that fails): the candidate has no network interface
   but a loopback that is down, and every mount is read-only to it except its private folder;
4. forks the candidate into its own process group with limits on CPU seconds, address space, file size,
   processes and open files, a fixed minimal environment, its parent-death signal set, and execs it;
5. waits for it until the deadline, then kills its process group and every descendant re-parented to it,
   and writes one JSON line about all this to the status descriptor (never inherited by the candidate).

Exit status: 0 after a report was written; 3 when isolation was required and is unavailable.
"""

import ctypes
import errno
import json
import os
import resource
import select
import signal
import sys
import time

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 1
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (a syscall added after the table unification)
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
REAP_ROUNDS = 200


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _prctl(libc, option, value):
    if libc.prctl(option, value, 0, 0, 0) != 0:
        return os.strerror(ctypes.get_errno())
    return None


def _children(parent_pid):
    """Pids whose parent is `parent_pid` (a scan of /proc: it works without CONFIG_PROC_CHILDREN)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == parent_pid:
            found.append(int(name))
    return found


def _reap_all(pgid):
    """Kill the candidate's process group and every process re-parented to this subreaper; the count killed."""
    killed = set()
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    for _ in range(REAP_ROUNDS):
        children = _children(os.getpid())
        if not children:
            break
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.002)
                break
    return len(killed)


def _isolate(libc, config):
    facts = {"uid": os.getuid(), "user_ns": False, "net_ns": False, "dumpable": True, "subreaper": False}
    facts["dumpable"] = _prctl(libc, PR_SET_DUMPABLE, 0) is not None
    facts["subreaper"] = _prctl(libc, PR_SET_CHILD_SUBREAPER, 1) is None
    drop_uid = config.get("drop_uid")
    if os.getuid() == 0 and drop_uid is not None:
        try:
            os.setgroups([])
            os.setgid(drop_uid)
            os.setuid(drop_uid)
        except OSError as exc:  # root of a user namespace where `drop_uid` is not mapped
            facts["uid_drop_error"] = exc.strerror
        facts["uid"] = os.getuid()
        facts["dumpable"] = _prctl(libc, PR_SET_DUMPABLE, 0) is not None  # a uid change resets it
    facts["read_only_root"] = False
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) == 0:
        facts["user_ns"] = facts["net_ns"] = True
        error = _read_only_except(libc, config["cwd"])
        facts["read_only_root"] = error is None
        if error:
            facts["read_only_error"] = error
    elif libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        facts["user_ns"] = facts["net_ns"] = True
        facts["read_only_error"] = "no mount namespace"
    else:
        facts["unshare_error"] = errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
    return facts


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def _read_only_except(libc, folder):
    """In the new mount namespace: every mount read-only but `folder` (None, or why it could not be done)."""
    path = folder.encode()
    steps = [
        ("private", lambda: libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)),
        ("bind", lambda: libc.mount(path, path, None, MS_BIND, None)),
        ("read-only", lambda: _setattr(libc, b"/", AT_RECURSIVE, _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0))),
        ("writable folder", lambda: _setattr(libc, path, 0, _MountAttr(0, MOUNT_ATTR_RDONLY, 0, 0))),
    ]
    for name, step in steps:
        if step() != 0:
            return f"{name}: {os.strerror(ctypes.get_errno())}"
    return None


def _setattr(libc, path, flags, attr):
    return libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path, flags, ctypes.byref(attr), ctypes.sizeof(attr))


def _limits(config):
    cpu_s = int(config["cpu_s"])
    limits = [(resource.RLIMIT_CPU, cpu_s), (resource.RLIMIT_FSIZE, int(config["fsize_bytes"])),
              (resource.RLIMIT_NPROC, int(config["nproc"])), (resource.RLIMIT_CORE, 0),
              (resource.RLIMIT_NOFILE, int(config["nofile"]))]
    if config.get("memory_bytes"):
        limits.append((resource.RLIMIT_AS, int(config["memory_bytes"])))
    for which, value in limits:
        resource.setrlimit(which, (value, value))


def _start_candidate(libc, config, status_fd):
    pid = os.fork()
    if pid:
        return pid
    try:  # the candidate: nothing here may raise past os._exit
        os.close(status_fd)
        os.setpgid(0, 0)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        os.umask(0o077)
        _limits(config)
        os.chdir(config["cwd"])
        os.execve(config["argv"][0], config["argv"], config["env"])
    except BaseException as exc:  # noqa: BLE001
        os.write(2, f"sandbox: could not start the candidate: {exc}\n".encode())
    os._exit(127)


def _wait(pid, timeout_s):
    """(wait status or None, timed out)."""
    deadline = time.monotonic() + timeout_s
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, True
            ready, _, _ = select.select([pidfd], [], [], left)
            if ready:
                return os.waitpid(pid, 0)[1], False
    finally:
        os.close(pidfd)


def main():
    config = json.loads(sys.argv[1])
    status_fd = int(config["status_fd"])
    os.set_inheritable(status_fd, False)
    libc = _libc()
    facts = _isolate(libc, config)
    report = {"isolation": facts}
    if config["isolation"] == "required" and not (facts["net_ns"] and facts["user_ns"]):
        report["refused"] = True
        os.write(status_fd, (json.dumps(report) + "\n").encode())
        return 3
    pid = _start_candidate(libc, config, status_fd)
    status, timed_out = _wait(pid, float(config["timeout_s"]))
    if status is None:
        os.kill(pid, signal.SIGKILL)
        status = os.waitpid(pid, 0)[1]
    report["descendants_killed"] = _reap_all(pid)
    report["timed_out"] = timed_out
    if os.WIFSIGNALED(status):
        report["signal"] = os.WTERMSIG(status)
    else:
        report["exit_code"] = os.WEXITSTATUS(status)
    os.write(status_fd, (json.dumps(report) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
