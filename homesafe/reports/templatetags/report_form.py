"""Small inclusion tags for the report form's radio, checkbox and select groups."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


def _selected(values: Any, name: str) -> list[str]:
    if values is None:
        return []
    getlist = getattr(values, "getlist", None)
    return list(getlist(name)) if getlist else [str(values.get(name, ""))]


@register.inclusion_tag("reports/_choices.html")
def choices(
    name: str,
    options: Any,
    values: Any,
    legend: str,
    kind: str = "radio",
    hint: str = "",
    errors: Any = None,
    required: bool = False,
) -> dict[str, Any]:
    """A fieldset of radios or checkboxes, re-checked from the submitted values."""
    selected = _selected(values, name)
    return {
        "name": name,
        "legend": legend,
        "hint": hint,
        "kind": kind,
        "required": required,
        "errors": (errors or {}).get(name, []),
        "options": [(code, label, code in selected) for code, label in options],
    }


@register.inclusion_tag("reports/_select.html")
def select(
    name: str,
    options: Any,
    values: Any,
    label: str,
    errors: Any = None,
    blank: str = "",
) -> dict[str, Any]:
    selected = _selected(values, name)
    return {
        "name": name,
        "label": label,
        "blank": blank,
        "errors": (errors or {}).get(name, []),
        "options": [(code, lab, code in selected) for code, lab in options],
    }


@register.simple_tag
def value_of(values: Any, name: str) -> str:
    if values is None:
        return ""
    return str(values.get(name, ""))


@register.filter
def errors_for(errors: Any, name: str) -> list[str]:
    return list((errors or {}).get(name, []))


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return (mapping or {}).get(key, "")


@register.filter
def label_for(code: str, dimension: str) -> str:
    """The translated label of a multi-select code, e.g. {{ "gay"|label_for:"bias" }}."""
    from homesafe.reports import taxonomy as tx

    extra = {"police_help": tx.POLICE_HELP, "help_answer": tx.POLICE_HELP_ANSWERS}
    return tx.label(tx.MULTI_DIMENSIONS.get(dimension) or extra.get(dimension, []), code) or code


@register.inclusion_tag("reports/_field.html")
def field(
    name: str,
    label: str,
    values: Any,
    errors: Any = None,
    kind: str = "text",
    maxlength: int = 500,
    rows: int = 0,
    max: str = "",
    autocomplete: str = "",
) -> dict[str, Any]:
    """One labelled input or textarea (rows > 0), its errors and its submitted value."""
    return {
        "name": name,
        "label": label,
        "value": value_of(values, name),
        "errors": (errors or {}).get(name, []),
        "kind": kind,
        "maxlength": maxlength,
        "rows": rows,
        "max": max,
        "autocomplete": autocomplete,
    }
