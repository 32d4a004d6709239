from django import template

from evaluation.selectors import can_read

register = template.Library()


@register.filter
def can_read_leaderboard(user) -> bool:
    return can_read(user)


@register.filter
def deg(value, digits: int = 2) -> str:
    """A number of degrees for a table cell; a dash when absent."""
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


@register.filter
def pct(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.{digits}f}%"


@register.filter
def get(mapping, key):
    return (mapping or {}).get(key)
