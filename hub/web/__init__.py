"""The web admin: server-rendered pages for platform admins and association accountants.

Served by ``hub serve`` beside the API, in Arabic (right to left) and English. Every page
reads and acts through the same services as the CLI and the API (``hub.services``,
``hub.reconcile.service``, ``hub.scheduling``); nothing here decides anything on its own.
"""

from hub.web.views import install

__all__ = ["install"]
