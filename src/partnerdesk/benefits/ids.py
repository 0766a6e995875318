"""Access IDs and Contract IDs: random, so nobody can guess another partner's."""

import secrets
import uuid

# Crockford's base32 alphabet: no I, L, O or U to misread when a partner types it in.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_access_id() -> str:
    return str(uuid.uuid4())


def new_contract_id() -> str:
    """80 random bits, read out in groups: PD-7K3M-Q9XA-2HZP-4WTN."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "PD-" + "-".join(chars[i : i + 4] for i in range(0, 16, 4))
