"""`leadgate policy check`: validate a policy file and name its first bad key by path and line.

Stricter than loading for a run, on purpose: a quoted number (`"0.5"`) or `true` where a number
belongs is refused here, though pydantic's lax loading would coerce it, so a file that passes the
check always means what it says. Problems are reported in file order, the first one named:
`routing.tiers[2].threshold: must be between 0 and 1 (line 57)`.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError

from leadgate.policy import Policy, PolicyError

_Loc = tuple[Any, ...]


def key_path(loc: _Loc) -> str:
    """('routing', 'tiers', 2, 'threshold') -> 'routing.tiers[2].threshold'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_policy_file(path: Path) -> Policy:
    """The validated policy; a PolicyError naming the first problem (key path, line) otherwise."""
    path = Path(path)
    text = _read(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise PolicyError(f"policy file {path}: YAML syntax error{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if root is None:
        raise PolicyError(f"policy file {path} is empty")
    if not isinstance(data, dict):
        raise PolicyError(
            f"policy file {path}: the top level must be a mapping of keys (version, scoring, routing, ...), "
            f"not {_kind(data)}"
        )
    problems = _duplicate_keys(root, ())
    try:
        policy = Policy.model_validate(data, strict=True)
    except ValidationError as exc:
        problems += [
            (*_place(root, err["loc"], err["type"]), key_path(err["loc"]), _message(err)) for err in exc.errors()
        ]
        policy = None
    if policy is not None:
        problems += _semantic_problems(policy, root)
    if problems:
        problems.sort(key=lambda p: p[0])
        _, line, where, message = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        at = f" (line {line})" if line else ""
        # a rule across keys names its keys itself ("routing.tiers: the last tier ..."): no second prefix
        named = where and message.startswith((f"{where}.", f"{where} ", f"{where}:", f"{where}["))
        said = message if named else f"{where or 'top level'}: {message}"
        raise PolicyError(f"policy file {path}: {said}{at}{more}")
    return policy


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {path}") from None
    except IsADirectoryError:
        raise PolicyError(f"policy file {path} is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(f"policy file {path} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise PolicyError(f"policy file {path} cannot be read: {exc.strerror or exc}") from None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing (null)" if value is None else type(value).__name__


# --- where in the file ---------------------------------------------------------------------------


def _child(node: yaml.Node | None, part: Any, want_key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key if want_key else value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def _line(root: yaml.Node, loc: _Loc, kind: str) -> int | None:
    """The line of the key or value `loc` names; for a missing key, of the mapping that lacks it."""
    node, found = root, root
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        nxt = _child(node, part, want_key=last and kind == "extra_forbidden")
        if nxt is None:
            break
        node = found = nxt
    return found.start_mark.line + 1 if found is not None else None


def _place(root: yaml.Node, loc: _Loc, kind: str) -> tuple[int, int | None]:
    """(sort position, line shown): a missing key sorts at the end of its mapping, after a misspelt one inside it."""
    line = _line(root, loc, kind)
    if kind == "missing":
        parent = root
        for part in loc[:-1]:
            parent = _child(parent, part) if parent is not None else None
        end = parent.end_mark.line + 1 if parent is not None else line
        return (end or 0), line
    return (line or 0), line


def _duplicate_keys(node: yaml.Node, loc: _Loc) -> list[tuple[int, int, str, str]]:
    """YAML keeps the last of two equal keys silently; a policy file with one is a mistake."""
    out: list[tuple[int, int, str, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name in seen:
                line = key.start_mark.line + 1
                out.append((line, line, key_path((*loc, name)), f"duplicate key (first at line {seen[name]})"))
            elif name is not None:
                seen[name] = key.start_mark.line + 1
            out += _duplicate_keys(value, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out += _duplicate_keys(item, (*loc, i))
    return out


# --- what is wrong --------------------------------------------------------------------------------


def _unwrap(annotation: Any, part: Any) -> Any:
    """The type one step down `annotation` (a model field, a list item, a dict value), or None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                found = _unwrap(arg, part)
                if found is not None:
                    return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field if field is not None else None
    if origin is list and isinstance(part, int):
        return typing.get_args(annotation)[0]
    if origin is dict and not isinstance(part, int):
        return typing.get_args(annotation)[1]
    return None


def _field_at(loc: _Loc) -> tuple[Any, list[Any]]:
    """(annotation, constraints) of the field `loc` names in the Policy model, as far as it can be followed."""
    current: Any = Policy
    metadata: list[Any] = []
    for part in loc:
        step = _unwrap(current, part)
        if step is None:
            return None, []
        if hasattr(step, "annotation") and hasattr(step, "metadata"):  # a FieldInfo
            current, metadata = step.annotation, list(step.metadata)
        else:
            current, metadata = step, []
    return current, metadata


def _model_keys(loc: _Loc) -> list[str]:
    annotation, _ = _field_at(loc) if loc else (Policy, [])
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return list(candidate.model_fields)
    return []


def _bounds(loc: _Loc, ctx: dict[str, Any]) -> str:
    _, metadata = _field_at(loc)
    limits = {"ge": None, "gt": None, "le": None, "lt": None}
    for item in metadata:
        for cls, key in ((Ge, "ge"), (Gt, "gt"), (Le, "le"), (Lt, "lt")):
            if isinstance(item, cls):
                limits[key] = getattr(item, key)
    for key in limits:
        if limits[key] is None and key in ctx:
            limits[key] = ctx[key]
    low = (
        f"at least {limits['ge']:g}"
        if limits["ge"] is not None
        else f"greater than {limits['gt']:g}"
        if limits["gt"] is not None
        else None
    )
    high = (
        f"at most {limits['le']:g}"
        if limits["le"] is not None
        else f"less than {limits['lt']:g}"
        if limits["lt"] is not None
        else None
    )
    lo = limits["ge"] if limits["ge"] is not None else limits["gt"]
    hi = limits["le"] if limits["le"] is not None else limits["lt"]
    if lo is not None and hi is not None:
        open_ends = [f"more than {lo:g}"] * (limits["gt"] is not None) + [f"less than {hi:g}"] * (
            limits["lt"] is not None
        )
        if len(open_ends) == 2:
            return f"must be between {lo:g} and {hi:g} (exclusive)"
        return f"must be between {lo:g} and {hi:g}" + (f" ({open_ends[0]})" if open_ends else "")
    return "must be " + " and ".join(p for p in (low, high) if p)


_TYPES = {
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
}


def _message(err: dict[str, Any]) -> str:
    kind, loc, ctx = err["type"], tuple(err["loc"]), err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
        allowed = _model_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key{hint}" + (f" (allowed here: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return "required key is missing"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{_bounds(loc, ctx)} (got {value})"
    if kind in _TYPES:
        hint = (
            ": remove the quotes"
            if isinstance(value, str) and kind.startswith(("float", "int")) and _numeric(value)
            else ""
        )
        return f"{_TYPES[kind]}, not {_kind(value)}{hint}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}, not {_kind(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}, not {_kind(value)}"
    message = str(err.get("msg") or kind)
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message[:1].lower() + message[1:]


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _semantic_problems(policy: Policy, root: yaml.Node) -> list[tuple[int, int | None, str, str]]:
    """What the model alone cannot know: event types the scorer counts, the gate's suite file."""
    from leadgate.config import EXPECTATIONS_DIR
    from leadgate.scoring.baseline import ENGAGEMENT_COLUMNS

    out: list[tuple[int, int | None, str, str]] = []
    for name in policy.scoring.engagement.weights:
        if name not in ENGAGEMENT_COLUMNS:
            loc = ("scoring", "engagement", "weights", name)
            out.append(
                (
                    *_place(root, loc, "extra_forbidden"),
                    key_path(loc),
                    f"unknown event type (known: {', '.join(sorted(ENGAGEMENT_COLUMNS))})",
                )
            )
    suite = EXPECTATIONS_DIR / f"{policy.gate.suite}.json"
    if not suite.is_file():
        loc = ("gate", "suite")
        out.append(
            (*_place(root, loc, "value"), key_path(loc), f"no expectation suite {suite.name} in {EXPECTATIONS_DIR}")
        )
    return out
