"""PURE: config as code (DESIGN §12.4) — the export document, its JSON/YAML codec, export and
the import planner. Nothing here reads or writes the database; the service layer loads the
org's state as `CurrentNode`s, asks for a `Plan`, adds the write rules' problems, and applies
the plan's steps in one transaction.

- `document`: the document model and its rules (`validate_document`);
- `codec`: `parse(body, content_type)`, `render_json`, `render_yaml`, `negotiate`;
- `yaml_reader`: the strict YAML reader the codec uses;
- `values`: I-JSON number and text checks over any parsed value;
- `state`: `CurrentNode` and `tree_state_hash` (the plan's `based_on`);
- `export`: `export_document`;
- `masks`: resolving masks in an imported config against the target's stored one;
- `tree`: the org's tree after an import, apply order;
- `plan`: `plan_import` and the `Plan` it returns.
"""
