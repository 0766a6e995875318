"""Uploaded files go to temporary files as they arrive, and stop being written once past
the attachment limits: a 10 GB body costs the server at most the limits in disk, never
memory. A file past a limit keeps its true ``size`` (every byte was counted), so the
service that receives it refuses it by size without reading it."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class BoundedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.written_in_request = 0

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.written_in_file = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        # One byte past a limit is enough to know the file is too large.
        file_room = settings.PARTNERDESK_ATTACHMENT_MAX_BYTES + 1 - self.written_in_file
        request_room = (
            settings.PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES + 1 - self.written_in_request
        )
        kept = raw_data[: max(0, min(file_room, request_room))]
        if kept:
            self.file.write(kept)
            self.written_in_file += len(kept)
            self.written_in_request += len(kept)
        return None
