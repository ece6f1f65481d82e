"""Every example in docs/openapi.json must be valid against its own schema.

Run by .ci/schemathesis.sh with the venv's Python (jsonschema_rs comes with
schemathesis): schemathesis sends the request examples, but nothing else
reads the response examples an integrator copies from.

    python .ci/openapi-examples.py docs/openapi.json
"""

import json
import sys

import jsonschema_rs


def validator(doc, schema):
    # Local $refs (#/components/...) resolve against a root that carries them.
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "components": doc["components"]}
    return jsonschema_rs.validator_for(root)


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def examples_of(media):
    for name, example in (media.get("examples") or {}).items():
        yield name, example["value"]
    if "example" in media:
        yield "example", media["example"]


def main(path):
    doc = json.load(open(path, encoding="utf-8"))
    problems, checked = [], 0
    for route, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {route}"
            for param in op.get("parameters", []):
                param = deref(doc, param)
                if "example" in param:
                    checked += 1
                    for e in validator(doc, param["schema"]).iter_errors(param["example"]):
                        problems.append(f"{where} parameter {param['name']}: {e.message}")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                v = validator(doc, body["schema"])
                for name, value in examples_of(body):
                    checked += 1
                    for e in v.iter_errors(value):
                        problems.append(f"{where} request example {name}: {e.message}")
            for status, response in op["responses"].items():
                media = deref(doc, response).get("content", {}).get("application/json")
                if not media:
                    continue
                v = validator(doc, media["schema"])
                for name, value in examples_of(media):
                    checked += 1
                    for e in v.iter_errors(value):
                        problems.append(f"{where} {status} example {name}: {e.message}")
    for p in problems:
        print(p)
    print(f"{checked} examples checked, {len(problems)} invalid")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
