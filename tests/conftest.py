from __future__ import annotations

pytest_plugins = ["pytester", "tests.plugins.sensitive", "tests.fixtures"]
