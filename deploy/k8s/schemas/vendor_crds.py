#!/usr/bin/env python3
"""Turn CustomResourceDefinitions into the JSON schemas the manifest test validates against.

    python deploy/k8s/schemas/vendor_crds.py CRD.yaml [CRD.yaml ...]

For each served version of each CRD, writes ``deploy/k8s/schemas/<group>/<kind>_<version>.json``:
the version's ``openAPIV3Schema`` with ``apiVersion``/``kind`` pinned, and strict — every object
that lists its ``properties`` refuses others (``additionalProperties: false``) unless the CRD
keeps unknown fields (``x-kubernetes-preserve-unknown-fields``) — because a real API server
prunes an unknown field silently: a misspelt setting would be lost without a word. The
Kubernetes ``metadata`` is left open (the API server's own schema governs it).

The schemas are committed, so the suite validates offline; where each CRD came from (project,
version, commit) is in README.md beside them. Rerun after upgrading an operator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def strict(node):
    if isinstance(node, dict):
        out = {k: strict(v) for k, v in node.items()}
        if (out.get("type") == "object" and "properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


def schemas(crd: dict):
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        props["kind"] = {"type": "string", "enum": [kind]}
        props["metadata"] = {"type": "object"}
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        yield group, kind, version["name"], schema


def main(paths: list[str]) -> int:
    for path in paths:
        for doc in yaml.safe_load_all(Path(path).read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            for group, kind, version, schema in schemas(doc):
                out = HERE / group / f"{kind.lower()}_{version}.json"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                print(f"{out.relative_to(HERE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
