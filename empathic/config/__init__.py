"""Configuration: the params schema and how params are loaded and checked.

- `schema`: one typed model per params.yaml section, unknown keys rejected; every range, choice
  and cross-key rule is written there only.
- `check`: validating a params mapping against the schema, with errors a user can act on.
- `params`: loading params.yaml (validated) and reading a section as the schema's frozen model.

Importing this package loads nothing: pydantic is imported only when params are checked.
"""
