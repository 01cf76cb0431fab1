"""The alert model: decoding/encoding Kafka messages, reading alert files.

An alert is a plain dict shaped like a decoded ZTF packet (see :mod:`.model`).
"""

from finkportal_core.alerts.decode import decode_message
from finkportal_core.alerts.encode import encode_fink_message, encode_ztf_message
from finkportal_core.alerts.files import (
    ALERT_FILE_SUFFIXES,
    UnsupportedAlertFileError,
    alert_files,
    iter_alert_files,
)
from finkportal_core.alerts.infer import schema_for
from finkportal_core.alerts.model import (
    CUTOUT_FIELDS,
    PACKAGED_SCHEMA_VERSION,
    ZTF_ROOT_FIELDS,
    Alert,
    AlertDecodeError,
    AlertEncodeError,
    InvalidAlertError,
    added_value_names,
    packaged_schema,
    validate_alert,
)
from finkportal_core.alerts.normalize import normalize_record

__all__ = [
    "ALERT_FILE_SUFFIXES",
    "CUTOUT_FIELDS",
    "PACKAGED_SCHEMA_VERSION",
    "ZTF_ROOT_FIELDS",
    "Alert",
    "AlertDecodeError",
    "AlertEncodeError",
    "InvalidAlertError",
    "UnsupportedAlertFileError",
    "added_value_names",
    "alert_files",
    "decode_message",
    "encode_fink_message",
    "encode_ztf_message",
    "iter_alert_files",
    "normalize_record",
    "packaged_schema",
    "schema_for",
    "validate_alert",
]
