"""Static files in production: hashed names, compressed copies, WhiteNoise serving them.

``partnerdesk serve`` collects the static files into ``STATIC_ROOT`` before it starts
(``collect_static_files``); WhiteNoise then serves each under its content-hashed name with
a year's ``Cache-Control: immutable``. A server started some other way without a collect
(gunicorn by hand) links the plain names instead of failing every page, and WhiteNoise
finds those in the apps' folders.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from whitenoise.storage import CompressedManifestStaticFilesStorage

# collectstatic's own default: what it leaves out, the fingerprint leaves out too.
IGNORED = ["CVS", ".*", "*~"]


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            # Not in the manifest: nothing collected yet, or a file added since.
            return name


def static_sources_fingerprint() -> str:
    """A digest of every file collectstatic would copy (name, size, modification time)."""
    entries = []
    for finder in finders.get_finders():
        for path, storage in finder.list(IGNORED):
            prefix = getattr(storage, "prefix", None) or ""
            stat = os.stat(storage.path(path))
            entries.append(f"{prefix}/{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    digest = hashlib.sha256(settings.STORAGES["staticfiles"]["BACKEND"].encode())
    for entry in sorted(entries):
        digest.update(entry.encode() + b"\n")
    return digest.hexdigest()


def collect_static_files() -> bool:
    """Collect into STATIC_ROOT unless what is there was collected from these very files;
    True when it collected.

    Several servers may start at once on one host: a lock file beside STATIC_ROOT, which
    also keeps the fingerprint of the last collect, lets one collect while the others
    wait, and they then find the work done. Files an older release collected stay, so a
    server still running that release keeps serving its hashed names until restarted.
    """
    root = Path(settings.STATIC_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    fingerprint = static_sources_fingerprint()
    with open(root.with_name(root.name + ".collected"), "a+") as stamp:
        fcntl.flock(stamp, fcntl.LOCK_EX)
        stamp.seek(0)
        manifest = root / "staticfiles.json"
        if stamp.read().strip() == fingerprint and manifest.exists():
            return False
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.seek(0)
        stamp.truncate()
        stamp.write(fingerprint + "\n")
        return True
