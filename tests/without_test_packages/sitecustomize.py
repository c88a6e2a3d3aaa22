"""Makes the test and bench extras' packages unimportable in every Python process that has this
folder on PYTHONPATH (Python imports `sitecustomize` at start-up): what a host that installed
only infra/locks/runtime.txt would see. Spark's Python workers inherit the variable too."""

import sys
from importlib.abc import MetaPathFinder

# The top-level modules of pyproject.toml's `test` and `bench` extras.
BLOCKED = {"pytest", "_pytest", "hypothesis", "moto", "aiosmtpd", "selenium", "pyflakes", "duckdb", "psutil"}


class TestPackagesAbsent(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (a test or bench package: not installed in "
                                      "production)", name=name)
        return None


sys.meta_path.insert(0, TestPackagesAbsent())
