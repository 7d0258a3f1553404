"""Admin operations: the one place that registers clients, manages API keys, users,
workspaces and browser sessions, and rotates signing keys.

The management API (``server/management/api_keys.py``), the ``scopegate`` admin commands,
the demo and the test fixtures all call these functions; none of them writes those rows
itself. Each module has one job:

- :mod:`.clients`: register a client (secret generated, hashed with the pepper), rotate
  its secret, delete it;
- :mod:`.keys` with :mod:`.key_policy`: create, rotate, revoke and list users' API keys
  (public scopes only, never beyond the owner's role nor the creating token);
- :mod:`.users`: create a user, set a password, disable or enable, workspaces;
- :mod:`.sessions`: list and end a user's browser sessions;
- :mod:`.signing_keys`: rotate the token signing keys.

Input is checked before anything is stored (a pure ``*_spec``/``plan_*`` step the CLI runs
before it opens the database), then one repository call writes in one transaction.
Refusals are :class:`~.errors.AdminError` subclasses, or the RFC errors of
:mod:`.key_policy` that the HTTP API answers with.
"""
