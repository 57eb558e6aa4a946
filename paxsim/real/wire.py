"""The wire format: message JSON exactly as traces write it, checked strictly.

A node must answer malformed input with a 400, never crash, so incoming
messages are validated here before `message_from_json` sees them: the role
code trusts its inputs.
"""

from __future__ import annotations

from typing import Any

from ..protocols.single import Ballot, message_from_json

# Every message type the single-decree roles use, with its fields.
MESSAGE_FIELDS: dict[str, dict[str, str]] = {
    "prepare": {"ballot": "ballot"},
    "promise": {"ballot": "ballot", "accepted": "accepted?"},
    "nack": {"ballot": "ballot", "promised": "ballot"},
    "accept": {"ballot": "ballot", "value": "value"},
    "accepted": {"ballot": "ballot", "value": "value?"},
    "learn": {"value": "value"},
    "learned": {"value": "value"},
}
TYPES = tuple(MESSAGE_FIELDS)


class WireError(ValueError):
    """Input that is not a valid message; `str()` is one line."""


def _ballot(data: Any, where: str) -> None:
    if (not isinstance(data, list) or len(data) != 2 or type(data[0]) is not int or data[0] < 0
            or not isinstance(data[1], str)):
        raise WireError(f"{where}: a ballot is [round, node], a non-negative integer and a string; got {data!r}")


def check_ballot(data: Any, where: str) -> None:
    """WireError (one line) unless `data` is a ballot's JSON form."""
    _ballot(data, where)


def check_value(data: Any, where: str) -> None:
    if not (isinstance(data, str) or type(data) is int):
        raise WireError(f"{where}: a value is a string or an integer; got {data!r}")


def parse_message(data: Any, kind: str | None = None):
    """A message object from its JSON form; raises WireError on anything else.
    `kind`, if given, is the type the endpoint expects."""
    if not isinstance(data, dict):
        raise WireError("expected a JSON object")
    if kind is not None and data.get("type", kind) != kind:
        raise WireError(f"type: {data.get('type')!r} sent to the endpoint for {kind!r}")
    kind = data.get("type", kind)
    if kind not in MESSAGE_FIELDS:
        raise WireError(f"type: unknown message type {kind!r} (known: {', '.join(TYPES)})")
    for name, shape in MESSAGE_FIELDS[kind].items():
        optional = shape.endswith("?")
        if data.get(name) is None:
            if optional:
                continue
            raise WireError(f"{name}: missing (a {kind} has {', '.join(MESSAGE_FIELDS[kind])})")
        value = data[name]
        if shape.startswith("ballot"):
            _ballot(value, name)
        elif shape.startswith("value"):
            check_value(value, name)
        elif shape.startswith("accepted"):
            if not isinstance(value, dict):
                raise WireError(f"accepted: expected null or {{\"ballot\": [round, node], \"value\": v}}; got {value!r}")
            _ballot(value.get("ballot"), "accepted.ballot")
            check_value(value.get("value"), "accepted.value")
    return message_from_json({**data, "type": kind})


# -- stable storage as JSON ------------------------------------------------------

def storage_to_json(storage: dict) -> dict:
    out: dict[str, Any] = {}
    for key, data in storage.items():
        if key == "acceptor":
            promised, accepted = data
            out[key] = [None if promised is None else list(promised),
                        None if accepted is None else [list(accepted[0]), accepted[1]]]
        else:
            out[key] = data
    return out


def storage_from_json(data: dict) -> dict:
    """Inverse of `storage_to_json`; raises ValueError/KeyError/TypeError on a bad file."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    out: dict[str, Any] = {}
    # Every stored ballot and value is checked as on the wire: the node would send them in its promises.
    if data.get("acceptor") is not None:
        promised, accepted = data["acceptor"]
        if promised is not None:
            _ballot(promised, "acceptor: promised")
        if accepted is not None:
            _ballot(accepted[0], "acceptor: accepted ballot")
            check_value(accepted[1], "acceptor: accepted value")
        out["acceptor"] = (None if promised is None else Ballot.from_json(promised),
                           None if accepted is None else (Ballot.from_json(accepted[0]), accepted[1]))
    if data.get("proposer") is not None:
        if type(data["proposer"]) is not int or data["proposer"] < 0:
            raise ValueError(f"proposer: a round is a non-negative integer; got {data['proposer']!r}")
        out["proposer"] = data["proposer"]
    if data.get("learner") is not None:
        check_value(data["learner"], "learner")
        out["learner"] = data["learner"]
    return out
