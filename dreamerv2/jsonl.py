"""Append-only JSON-lines files (scores.jsonl, metrics.jsonl): whole lines in, bad lines counted out.

A kill or a full disk can cut the last line short; the next append would then glue
a record onto the fragment and lose both. `repair` runs before a run appends again;
`read` skips what it cannot parse and says how many lines it skipped.
"""
import json
import os
import pathlib
import sys
import time


def append(path, record):
  """Appends one record as one complete line, with a single write, flushed to disk."""
  data = (json.dumps(record) + '\n').encode()
  fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
  try:
    os.write(fd, data)
    os.fsync(fd)
  finally:
    os.close(fd)


def repair(path, log=print):
  """Makes `path` end with a complete line: a cut but valid last record gets its newline,
  an unparseable fragment is moved to `<name>.partial` (appended there, never dropped)."""
  path = pathlib.Path(path)
  if not path.exists():
    return None
  data = path.read_bytes()
  if not data or data.endswith(b'\n'):
    return None
  cut = data.rfind(b'\n') + 1
  tail = data[cut:]
  try:
    json.loads(tail.decode())
    with open(path, 'ab') as f:
      f.write(b'\n')
    log(f'{path}: its last line had no line end (the writer was stopped); added it.')
    return 'repaired'
  except ValueError:
    pass
  side = path.with_name(path.name + '.partial')
  with open(side, 'ab') as f:
    f.write(f'# {time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())} cut from the end of {path.name}:\n'.encode())
    f.write(tail + b'\n')
    f.flush()
    os.fsync(f.fileno())
  with open(path, 'r+b') as f:
    f.truncate(cut)
  log(f'{path}: its last line was cut short ({len(tail)} bytes, the writer was stopped); moved it to {side}.')
  return 'moved'


def read(path, required=(), warn=None):
  """The records of a JSON-lines file and how many lines were skipped (unparseable, not an
  object, or missing a `required` key). `warn(message)` is told when any were skipped."""
  path = pathlib.Path(path)
  records, skipped = [], 0
  for line in path.read_text(errors='replace').splitlines():
    if not line.strip() or line.startswith('#'):
      continue
    try:
      record = json.loads(line)
    except ValueError:
      skipped += 1
      continue
    if not isinstance(record, dict) or any(k not in record for k in required):
      skipped += 1
      continue
    records.append(record)
  if skipped:
    (warn or (lambda m: print(m, file=sys.stderr)))(f'{path}: skipped {skipped} unreadable line(s).')
  return records, skipped
