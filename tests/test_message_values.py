"""Messages are values (immutable by convention, no longer frozen): equal by
type and fields, hashed alike, and read back from their JSON unchanged; the
explorer's states and the trace rely on it."""

from paxsim.protocols.single import (Accept, Accepted, Ballot, Learn, Learned, Nack, Prepare, Promise,
                                     message_from_json)

B1, B2 = Ballot(1, "n1"), Ballot(2, "n2")
SAMPLES = [Prepare(B1), Promise(B1, None), Promise(B2, (B1, "v")), Nack(B1, B2), Accept(B1, "v"),
           Accepted(B1), Accepted(B1, "v"), Learn("v"), Learned("v")]


def test_messages_are_equal_by_type_and_fields_and_hash_alike():
    for msg in SAMPLES:
        again = message_from_json(msg.to_json())
        assert again == msg and hash(again) == hash(msg) and type(again) is type(msg)
    assert len(set(SAMPLES)) == len(SAMPLES)
    assert Learn("v") != Learned("v") and Prepare(B1) != Prepare(B2)
    assert Accepted(B1) != Accepted(B1, "v")
    assert {Promise(B2, (B1, "v")): 1}[Promise(Ballot(2, "n2"), (Ballot(1, "n1"), "v"))] == 1
