"""Clients register themselves: RFC 7591, RFC 7592 and client ID metadata documents.

One module per job:

- :mod:`.endpoint`: ``POST /oauth/register`` (RFC 7591), a caller of the admin layer;
- :mod:`.management`: read, replace, delete one's registration (RFC 7592);
- :mod:`.policy`: who may register what (``SCOPEGATE_REGISTRATION=open|token|off``,
  initial access tokens, the per-address limit);
- :mod:`.metadata`: RFC 7591 §2 metadata checked, or refused with the RFC error;
- :mod:`.documents`: an https URL as ``client_id`` (client ID metadata documents);
- :mod:`.usage`: when a self-registered client was last used (unused ones are pruned
  by :mod:`scopegate.server.ops.maintenance`);
- :mod:`.response`: the answer shape shared by registration and RFC 7592.
"""
