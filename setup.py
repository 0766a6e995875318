"""The wheel carries compiled translation catalogs: the .mo files are built here, from the
.po files, when the package is built (python -m build, pip install .). The metadata is in
pyproject.toml; git keeps only the .po sources."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        import polib  # a build requirement (pyproject.toml)

        # The same compiler as `partnerdesk compile-catalogs` (polib), without Django:
        # the placeholder checks run there, in `make` and in the tests.
        for po in sorted(Path(self.build_lib, "partnerdesk", "locale").glob("*/LC_MESSAGES/*.po")):
            polib.pofile(str(po)).save_as_mofile(str(po.with_suffix(".mo")))


setup(cmdclass={"build_py": BuildPyWithCatalogs})
