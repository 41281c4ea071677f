"""Collects the `routes` list of every module in rest_compat.endpoints (one module per API tag)."""
from __future__ import annotations

import importlib
import pkgutil

from starlette.routing import BaseRoute

from rest_compat import endpoints


def rest_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for module_info in sorted(pkgutil.iter_modules(endpoints.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{endpoints.__name__}.{module_info.name}")
        routes.extend(getattr(module, "routes", []))
    return routes
