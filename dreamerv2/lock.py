"""One writer per logdir: `<logdir>/lock` holds the owner's pid and host.

Mutual exclusion comes from `flock` on that file, which the kernel releases when
its owner dies however it dies, so two live processes can never both hold it. The
file's content only names the owner: a second process is refused with its pid, and
a process that finds the lock free but still naming another pid reports that it
takes over from a run that ended without releasing it (killed, crashed). Where a
file system has no `flock`, a pid check on the same host stands in for it.
"""
import errno
import fcntl
import json
import os
import socket
import time

from .errors import UserError

NAME = 'lock'


def _alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _owner(text):
  try:
    owner = json.loads(text)
    return owner if isinstance(owner, dict) and 'pid' in owner else None
  except ValueError:
    return None


class LogdirLock:

  def __init__(self, logdir, log=print):
    self.path = os.path.join(str(logdir), NAME)
    self._log = log
    self._fd = None

  def acquire(self):
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    host = socket.gethostname()
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      exclusive = True
    except OSError as e:
      if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
        owner = _owner(os.pread(fd, 4096, 0).decode(errors='replace')) or {}
        os.close(fd)
        raise UserError(self._busy(owner)) from None
      exclusive = False  # No flock here (some network file systems): fall back to the pid check.
    owner = _owner(os.pread(fd, 4096, 0).decode(errors='replace'))
    if owner and owner.get('pid') != os.getpid():
      same_host = owner.get('host') == host
      if not exclusive and (not same_host or _alive(owner['pid'])):
        os.close(fd)
        raise UserError(self._busy(owner))
      where = '' if same_host else f" on host {owner.get('host')}"
      self._log(f"Taking over the stale lock {self.path} of pid {owner['pid']}{where}, which no longer runs "
                '(it was killed or crashed).')
    record = json.dumps({'pid': os.getpid(), 'host': host, 'since': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})
    os.ftruncate(fd, 0)
    os.pwrite(fd, record.encode() + b'\n', 0)
    os.fsync(fd)
    self._fd = fd
    return self

  def _busy(self, owner):
    pid, host = owner.get('pid', '?'), owner.get('host', '?')
    return (f'{os.path.dirname(self.path)} is in use by pid {pid} on host {host} (lock file {self.path}); '
            'wait for that run to finish or stop it, or use another --logdir.')

  def release(self):
    if self._fd is None:
      return
    # Emptied, not deleted: deleting a flock'ed file lets a late opener lock the old inode.
    os.ftruncate(self._fd, 0)
    os.close(self._fd)
    self._fd = None

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *exc):
    self.release()
