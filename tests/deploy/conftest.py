"""Fixtures for the deployment tests: the binary's service list and the rendered overlays.

Environment (scripts/check-deploy.sh sets them; each has a fallback for a direct run):
  TRACEMART_SERVICES_JSON  output of `tracemart services --json` (else the binary is run:
                           $TRACEMART_BIN, target/debug/tracemart, target/release/tracemart)
  RENDERED_DIR             <overlay>.yaml per overlay (else rendered with $KUBECTL or kubectl)
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS_DIR = ROOT / "deploy" / "k8s" / "overlays"
OVERLAYS = sorted(p.name for p in OVERLAYS_DIR.iterdir() if (p / "kustomization.yaml").exists())

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _binary() -> Path | None:
    env = os.environ.get("TRACEMART_BIN")
    if env:
        return Path(env)
    for profile in ("debug", "release"):
        candidate = ROOT / "target" / profile / "tracemart"
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def services_doc() -> dict:
    path = os.environ.get("TRACEMART_SERVICES_JSON")
    if path:
        return json.loads(Path(path).read_text())
    binary = _binary()
    if binary is None:
        pytest.fail("no tracemart binary: build the workspace first (cargo build), or set TRACEMART_SERVICES_JSON")
    out = subprocess.run([str(binary), "services", "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.fixture
def services_copy(services_doc) -> dict:
    return copy.deepcopy(services_doc)


_RENDERED: dict[str, list[dict]] = {}


def render(overlay: str) -> list[dict]:
    if overlay not in _RENDERED:
        rendered_dir = os.environ.get("RENDERED_DIR")
        if rendered_dir:
            text = (Path(rendered_dir) / f"{overlay}.yaml").read_text()
        else:
            kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
            if not kubectl:
                pytest.fail("no kubectl to render the overlays with (set KUBECTL or RENDERED_DIR)")
            text = subprocess.run(
                [kubectl, "kustomize", str(OVERLAYS_DIR / overlay)], check=True, capture_output=True, text=True
            ).stdout
        _RENDERED[overlay] = [d for d in yaml.safe_load_all(text) if d]
    return copy.deepcopy(_RENDERED[overlay])


@pytest.fixture(params=OVERLAYS)
def overlay(request) -> str:
    return request.param
