"""A user's own keyboard map: the rules that check it and where it is kept.

The product's keymap is static/js/keymap.js (every action, its default keys, the
pages it is on, what it does); this module holds the part the server needs to
check a user's map ({action: key}, UserSettings.keymap) by the same rules:
the action ids, their default keys, which are fixed and which are "coarse" (Shift
with their key is theirs too). tests/api/test_keymap_api.py keeps the two equal.
A key is written as the pages compare it: Ctrl+ Alt+ Shift+ (in that order),
then a lower-case letter, another printed character ('[', '<'; Shift is part of
those), or a named key."""

from __future__ import annotations

import re

from annotator.accounts.models import UserSettings

# action -> (default keys, coarse, fixed); the order and the keys of static/js/keymap.js
ACTIONS: dict[str, tuple[tuple[str, ...], bool, bool]] = {
    "yawLeft": (("ArrowLeft",), True, False),
    "yawRight": (("ArrowRight",), True, False),
    "pitchUp": (("ArrowUp",), True, False),
    "pitchDown": (("ArrowDown",), True, False),
    "rollLeft": (("q",), True, False),
    "rollRight": (("e",), True, False),
    "moveLeft": (("j",), True, False),
    "moveRight": (("l",), True, False),
    "moveUp": (("i",), True, False),
    "moveDown": (("k",), True, False),
    "nearer": (("u",), True, False),
    "farther": (("o",), True, False),
    "undo": (("Ctrl+z",), False, False),
    "redo": (("Ctrl+y", "Ctrl+Shift+z"), False, False),
    "reset": (("r",), False, False),
    "accept": (("a",), False, False),
    "save": (("s", "Enter"), False, False),
    "skip": (("n",), False, False),
    "flag": (("f",), False, False),
    "reject": (("d",), False, False),
    "correct": (("c",), False, False),
    "wireframe": (("w",), False, False),
    "axes": (("v",), False, False),
    "landmarks": (("m",), False, False),
    "ghosts": (("g",), False, False),
    "features": (("y",), False, False),
    "opacityDown": (("[",), False, False),
    "opacityUp": (("]",), False, False),
    "zoomIn": (("+", "="), False, False),
    "zoomOut": (("-",), False, False),
    "zoomOneToOne": (("1",), False, False),
    "zoomFit": (("0",), False, False),
    "handles": (("h",), False, False),
    "snap": (("x",), False, False),
    "unpinAll": (("Shift+x",), False, False),
    "nextProposal": (("p",), False, False),
    "previousProposal": (("Shift+p",), False, False),
    "previousFrame": ((",",), False, False),
    "nextFrame": ((".",), False, False),
    "back10": (("<",), False, False),
    "forward10": ((">",), False, False),
    "play": (("Space",), False, False),
    "deleteKeyframe": (("Delete", "Backspace"), False, False),
    "nextSpike": (("t",), False, False),
    "help": (("?",), False, True),
    "escape": (("Escape",), False, True),
}

NAMED = frozenset(
    [
        "ArrowLeft",
        "ArrowRight",
        "ArrowUp",
        "ArrowDown",
        "Enter",
        "Space",
        "Delete",
        "Backspace",
        "Escape",
        "Tab",
        "Home",
        "End",
        "PageUp",
        "PageDown",
        "Insert",
        *(f"F{i}" for i in range(1, 13)),
    ]
)
# Keys no action may take: they close dialogs, open the help and move the focus.
RESERVED = frozenset(["Escape", "Tab", "Shift+Tab", "?"])
_KEY = re.compile(r"^(Ctrl\+)?(Alt\+)?(Shift\+)?(.+)$", re.DOTALL)
MAX_KEY_CHARS = 40


class KeymapError(ValueError):
    """A user's keymap that cannot be used; the message says why."""


def key_problem(key: object) -> str:
    """Why `key` is not a key of the map, or '' when it is one (keymap.js's keyProblem)."""
    if not isinstance(key, str) or not key:
        return "a key is a non-empty string"
    if len(key) > MAX_KEY_CHARS:
        return "a key is at most 40 characters"
    m = _KEY.match(key)
    assert m is not None  # .+ matches any non-empty string
    shift, base = m.group(3), m.group(4)
    if len(base) == 1:
        if base.isspace() or ord(base) < 33:
            return f"'{key}' is not a key"
        if "A" <= base <= "Z":
            return f"'{key}': letters are written lower case (Shift+{base.lower()} for the capital)"
        if shift and not ("a" <= base <= "z"):
            return f"'{key}': Shift is part of '{base}' (write the character Shift gives)"
        return ""
    return "" if base in NAMED else f"'{key}' is not a key"


def _shifted(key: str) -> str | None:
    m = _KEY.match(key)
    assert m is not None
    ctrl, alt, shift, base = (g or "" for g in m.groups())
    if shift or not (re.fullmatch("[a-z]", base) or len(base) > 1):
        return None
    return f"{ctrl}{alt}Shift+{base}"


def effective_keys(overrides: dict[str, str]) -> dict[str, list[str]]:
    """Each action's keys: the defaults, with the user's {action: key} in place of theirs."""
    return {a: [overrides[a]] if a in overrides else list(keys) for a, (keys, _, _) in ACTIONS.items()}


def check_keymap(overrides: object) -> dict[str, str]:
    """The user's map as given, or KeymapError with every reason it cannot be used
    (keymap.js's checkOverrides: the same rules, the same words)."""
    if not isinstance(overrides, dict):
        raise KeymapError("the keymap is an object {action: key}")
    problems = []
    for action, key in overrides.items():
        if action not in ACTIONS:
            problems.append(f"unknown action '{action}'")
            continue
        keys, _, fixed = ACTIONS[action]
        if fixed:
            problems.append(f"'{action}' keeps its key ({', '.join(keys)})")
            continue
        why = key_problem(key)
        if why:
            problems.append(f"{action}: {why}")
        elif key in RESERVED:
            problems.append(f"{action}: '{key}' is kept for closing dialogs, help and moving the focus")
    if not problems:
        owner: dict[str, str] = {}
        for action, keys in effective_keys(overrides).items():
            coarse = ACTIONS[action][1]
            taken = keys + [s for s in map(_shifted, keys) if s] if coarse else keys
            for k in taken:
                if k in owner and owner[k] != action:
                    problems.append(f"'{k}' would be both {owner[k]} and {action}")
                else:
                    owner[k] = action
    if problems:
        raise KeymapError("; ".join(problems))
    return dict(overrides)


def user_keymap(user) -> dict[str, str]:
    """The user's own keys ({} for the defaults, and for anyone without settings)."""
    if not user.is_authenticated:
        return {}
    row = UserSettings.objects.filter(user=user).only("keymap").first()
    return dict(row.keymap) if row and isinstance(row.keymap, dict) else {}


def page_keymap(user, page: str) -> dict:
    """What an editor page's config carries: {page, user} (static/js/keymap.js's Keymap)."""
    return {"page": page, "user": user_keymap(user)}


def set_user_keymap(user, overrides: object) -> dict[str, str]:
    """Check and store the user's map (replacing the one before); returns it."""
    keymap = check_keymap(overrides)
    UserSettings.objects.update_or_create(user=user, defaults={"keymap": keymap})
    return keymap
