"""Access IDs and Contract IDs: random, so nobody can guess another partner's; and read
back leniently, the way a person types them in (any case, spaces and dashes anywhere)."""

import hmac
import secrets
import uuid

# Crockford's base32 alphabet: no I, L, O or U to misread when a partner types it in.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Crockford's decoding: the letters left out read as the digits they look like.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CONTRACT_PREFIX = "PD"
_CONTRACT_CHARS = 16
_SEPARATORS = str.maketrans("", "", " -\t\u00a0\u2010\u2011\u2012\u2013\u2014\u2212")


def new_access_id() -> str:
    return str(uuid.uuid4())


def new_contract_id() -> str:
    """80 random bits, read out in groups: PD-7K3M-Q9XA-2HZP-4WTN."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(_CONTRACT_CHARS))
    return _CONTRACT_PREFIX + "-" + "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def normalized_access_id(value: str | None) -> str:
    """``3F2B…-…`` typed as ``3f2b… …``: the hex digits alone, lower case."""
    return (value or "").strip().translate(_SEPARATORS).lower()


def normalized_contract_id(value: str | None) -> str:
    """``pd 7k3m-q9xa 2hzp-4wtn`` and ``PD-7K3M-Q9XA-2HZP-4WTN`` are one Contract ID:
    upper case, no separators, O read as 0 and I/L as 1; the ``PD`` prefix may be left out."""
    compact = (value or "").strip().translate(_SEPARATORS).upper()
    if len(compact) == _CONTRACT_CHARS:
        compact = _CONTRACT_PREFIX + compact
    if compact.startswith(_CONTRACT_PREFIX):
        return _CONTRACT_PREFIX + compact[len(_CONTRACT_PREFIX) :].translate(_LOOKALIKES)
    return compact.translate(_LOOKALIKES)


def _same(normalized_stored: str, normalized_given: str) -> bool:
    # Constant time: the IDs are the secret that lets an account use a contract.
    return bool(normalized_stored and normalized_given) and hmac.compare_digest(
        normalized_stored.encode(), normalized_given.encode()
    )


def same_access_id(stored: str | None, given: str | None) -> bool:
    return _same(normalized_access_id(stored), normalized_access_id(given))


def same_contract_id(stored: str | None, given: str | None) -> bool:
    return _same(normalized_contract_id(stored), normalized_contract_id(given))
