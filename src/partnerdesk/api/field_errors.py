"""The API's field messages: pydantic's errors in the caller's language (see
``partnerdesk.core.field_errors``, shared with the import)."""

from partnerdesk.core.field_errors import field_message

__all__ = ["field_message"]
