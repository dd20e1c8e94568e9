"""Errors caused by the user's input or environment; entry points print them as one line and exit 2."""
import errno


class UserError(Exception):
  pass


# OS errors that mean "the disk or the path cannot take our writes": reported as one line.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.ENOTDIR,
                  errno.EEXIST, errno.ENAMETOOLONG}


def storage_message(error, argv=()):
  """The one line for an OSError from writing the run's files (None for other errors);
  names the file, or else the command line's --logdir."""
  if not isinstance(error, OSError) or error.errno not in STORAGE_ERRNOS:
    return None
  args = list(argv)
  logdir = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == '--logdir'), None)
  where = error.filename or (f'into {logdir}' if logdir else '')
  where = f' {where}' if where else ''
  return (f'cannot write{where}: {error.strerror}. Files already written are intact; '
          'fix the storage and re-run the same command to resume.')
