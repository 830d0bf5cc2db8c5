"""The fixtures of tests/integration (server_factory, kazoo_factory, ...)."""

import importlib.util
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_integration = os.path.join(_here, "..", "integration")
sys.path.insert(0, _integration)

_spec = importlib.util.spec_from_file_location("integration_conftest",
                                               os.path.join(_integration, "conftest.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})
