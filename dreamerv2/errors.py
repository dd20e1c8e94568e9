"""Errors caused by the user's input; entry points print them as one line and exit 2."""


class UserError(Exception):
  pass
