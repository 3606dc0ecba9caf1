"""Checking params against the schema (empathic.config.schema), with errors a user can act on.

``check(data)`` raises ParamError (one line) on the first problem: an unknown key (naming the
closest valid key), a wrong type or a value out of range (naming the dotted key). With
``complete=False`` (what every stage does on load) keys absent from the file are left to the
code that reads them (``params.get`` names a missing one); with ``complete=True``
(``python -m stages.check``, the test of the repository's params.yaml) every required key must
be there.
"""
from __future__ import annotations

import difflib
import functools
import re
import types
import typing
from typing import Annotated, Union

from pydantic import BaseModel, ValidationError, create_model

from ..errors import ParamError
from .schema import OpenSection, Params, Section


def _models(tp) -> list[type[BaseModel]]:
    """The section models a field annotation can hold (through Optional/Union/Annotated)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _models(typing.get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [m for a in typing.get_args(tp) for m in _models(a)]
    return []


def valid_keys(model: type[BaseModel] = Params, prefix: str = "") -> list[str]:
    """Every dotted key the schema knows (sections and leaves)."""
    keys = [f"{prefix}{k}" for k in model.extra_keys()] if issubclass(model, OpenSection) else []
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        keys.append(dotted)
        for sub in _models(field.annotation):
            keys += [k for k in valid_keys(sub, dotted + ".") if k not in keys]
    return keys


def closest(dotted: str) -> str | None:
    """The valid key nearest to `dotted`: a sibling first, else any key."""
    keys = valid_keys()
    parent = dotted.rpartition(".")[0]
    siblings = [k for k in keys if k.rpartition(".")[0] == parent]
    for pool, cutoff in ((siblings, 0.6), (keys, 0.75)):
        hit = difflib.get_close_matches(dotted, pool, n=1, cutoff=cutoff)
        if hit:
            return hit[0]
    return None


def _dotted(data, loc: tuple) -> str:
    """The dotted key of an error location, leaving out union member tags pydantic adds."""
    parts, cur = [], data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            parts.append(str(part))
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            parts.append(f"[{part}]")
            cur = cur[part]
        elif isinstance(cur, dict) and len(parts) == len(loc) - 1:
            if isinstance(part, str) and not (part[:1].isupper() or "[" in part):
                parts.append(part)          # a missing key: name it
        # past a value (not a mapping) a part is a union member's tag ('int', 'constrained-int')
    return ".".join(parts).replace(".[", "[")


def _message(err: dict, data, source: str) -> str:
    key = _dotted(data, err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        near = closest(key)
        hint = f" (did you mean '{near}'?)" if near else ""
        return f"{source}: unknown key '{key}'{hint}"
    if kind == "missing":
        return f"{source}: missing param '{key}'"
    value = err.get("input")
    if isinstance(value, dict):            # a rule between keys of a section: name the rule
        return f"{source}: param '{key}': {err['msg']}"
    return f"{source}: param '{key}' is {value!r}; {err['msg']}"


def _plain(msg: str) -> str:
    msg = re.sub(r"a valid dictionary or instance of \w+", "a mapping", msg)
    msg = re.sub(r"^Value error, ", "", msg)
    return msg[0].lower() + msg[1:]


def _rank(err: dict) -> int:
    """Unknown keys first (the likeliest cause of the other errors), then bad values."""
    return {"extra_forbidden": 0, "missing": 2}.get(err["type"], 1)


def _loose(tp):
    """`tp` with every section model in it replaced by its partial twin."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return partial(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return Annotated[(_loose(args[0]), *tp.__metadata__)]
    if origin is Union or origin is types.UnionType:
        return Union[tuple(_loose(a) for a in args)]
    return tp


@functools.cache
def partial(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with every field optional (at any depth): what a stage checks on load."""
    fields = {}
    for name, f in model.model_fields.items():
        tp = _loose(f.annotation)          # pydantic keeps a field's constraints in metadata
        fields[name] = (Annotated[(tp, *f.metadata)] if f.metadata else tp, None)
    base = OpenSection if issubclass(model, OpenSection) else Section
    return create_model(f"Partial{model.__name__}", __base__=base, **fields)


def _extras(model: type[BaseModel], data, prefix: str = "") -> list[str]:
    """Keys of `data` in open sections that their registry does not name (dotted)."""
    if not isinstance(data, dict):
        return []
    bad = []
    if issubclass(model, OpenSection):
        bad += [f"{prefix}{k}" for k in data
                if k not in model.model_fields and k not in model.extra_keys()]
    for name, f in model.model_fields.items():
        for sub in _models(f.annotation):
            bad += _extras(sub, data.get(name), f"{prefix}{name}.")
    return bad


def check(data: dict, source: str = "params.yaml", complete: bool = False) -> Params | None:
    """Validate a params mapping; the first problem is a ParamError naming the dotted key.

    `complete`: also require every key the schema requires (otherwise absent keys pass and
    the code that reads one names it). Returns the typed params when complete.
    """
    model = Params if complete else partial(Params)
    unknown = _extras(Params, data)
    if unknown:
        near = closest(unknown[0])
        hint = f" (did you mean '{near}'?)" if near else ""
        raise ParamError(f"{source}: unknown key '{unknown[0]}'{hint}")
    try:
        checked = model.model_validate(data)
    except ValidationError as e:
        _raise(e.errors(include_url=False), data, source)
    return checked if complete else None


def section(data: dict, dotted: str, source: str = "params.yaml",
            model: type[Section] | None = None) -> Section:
    """The validated, frozen model of one section (`tasks.response`, `features.face`) of a
    params mapping: every key of it required, errors naming the dotted key. `model`: the one
    to validate it with when the schema has no field for it (a task module's own)."""
    raw, schema_model = data, Params
    for part in dotted.split("."):
        if not isinstance(raw, dict) or part not in raw:
            raise ParamError(f"{source}: missing param '{dotted}'")
        raw = raw[part]
        fields = schema_model.model_fields if schema_model is not None else {}
        schema_model = _models(fields[part].annotation)[0] if part in fields else None
    model = schema_model or model
    if model is None:
        raise ParamError(f"{source}: unknown key '{dotted}'")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        prefix = tuple(dotted.split("."))
        errors = [{**err, "loc": prefix + tuple(err["loc"])} for err in e.errors(include_url=False)]
        nested = raw
        for part in reversed(prefix):
            nested = {part: nested}
        _raise(errors, nested, source)


def _raise(errors: list[dict], data, source: str):
    """The first of pydantic's errors as one ParamError line."""
    # A union reports one error per member: the deepest key is the member the value meant;
    # members failing at the same key are joined.
    errors.sort(key=lambda err: (_rank(err), -len(_dotted(data, err["loc"]))))
    first = dict(errors[0])
    key = _dotted(data, first["loc"])
    same = [err["msg"] for err in errors
            if _rank(err) == _rank(first) and _dotted(data, err["loc"]) == key]
    first["msg"] = " or ".join(dict.fromkeys(_plain(m) for m in same))
    raise ParamError(_message(first, data, source))
