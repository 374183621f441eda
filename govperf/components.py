"""Where each component's app and settings live, for the CLI and the test harness."""

from __future__ import annotations

import importlib
from typing import Any

from services.common.settings import COMPONENTS, SERVICES, ComponentSettings

__all__ = ["COMPONENTS", "SERVICES", "create_app", "settings_class"]


def _package(component: str) -> str:
    if component not in COMPONENTS:
        raise ValueError(f"unknown component '{component}'; one of {', '.join(COMPONENTS)}")
    return "gateway" if component == "gateway" else f"services.{component}"


def settings_class(component: str) -> type[ComponentSettings]:
    return importlib.import_module(f"{_package(component)}.settings").Settings


def create_app(component: str, settings: ComponentSettings, **kwargs: Any) -> Any:
    return importlib.import_module(f"{_package(component)}.app").create_app(settings, **kwargs)
