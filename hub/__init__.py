"""Wasl Hub: the integration hub between charitable associations, banks and the platform.

This module re-exports the plugin-author API; everything else is internal.
"""

from hub.errors import (
    CheckFailed,
    ConfigError,
    ConnectorError,
    DeliveryError,
    HubError,
    InputError,
    RecordError,
    RecordProblem,
    TransientDeliveryError,
)
from hub.hookspecs import hookimpl
from hub.sdk import (
    Connector,
    ConnectorContext,
    Cursor,
    Delivery,
    SourceRow,
    Stream,
    StreamConfig,
    WriteResult,
)

__version__ = "0.1.0"

__all__ = [
    "CheckFailed",
    "ConfigError",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "Cursor",
    "Delivery",
    "DeliveryError",
    "HubError",
    "InputError",
    "RecordError",
    "RecordProblem",
    "SourceRow",
    "Stream",
    "StreamConfig",
    "TransientDeliveryError",
    "WriteResult",
    "__version__",
    "hookimpl",
]
