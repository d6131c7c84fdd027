"""What a generation run is asked to do (candidate modes, names, provenance)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from roman_asn.errors import RomanAsnError
from roman_asn.pool.candidates import is_candidate_id


def is_data_release_id(value: object) -> bool:
    """p (prompt), dr01, r0, ...: lower-case letters and digits, as the schema requires."""
    return isinstance(value, str) and re.fullmatch(r"[a-z0-9]+", value) is not None


@dataclass(frozen=True)
class GenerateOptions:
    """Candidate modes as jwst ``asn_generate`` users know them.

    ``ids``: only these candidates (and only rows belonging to one of them).
    ``all_candidates``: write candidate (o/c) associations. ``discover``: write
    discovered (a3NNN) associations not identical to a candidate association.
    """

    ids: tuple[str, ...] = ()
    all_candidates: bool = True
    discover: bool = True
    data_release_id: str = "p"
    version_id: str | None = None
    asn_pool: str | None = None  # None: the pool's file name

    def __post_init__(self) -> None:
        if not is_data_release_id(self.data_release_id):
            raise RomanAsnError(
                f"data release id {self.data_release_id!r}: lower-case letters and digits "
                "(p, dr01, ...), as the association schema requires"
            )

    @classmethod
    def from_flags(
        cls,
        *,
        ids: tuple[str, ...] | list[str] = (),
        all_candidates: bool = False,
        discover: bool = False,
        **others,
    ) -> GenerateOptions:
        """Flags as on the command line: neither mode flag nor -i means both modes;
        ``-i`` alone means those candidates only (add ``--discover`` to also discover)."""
        ids = tuple(sorted(dict.fromkeys(i.strip().lower() for i in ids if i.strip())))
        bad = [i for i in ids if not is_candidate_id(i)]
        if bad:
            raise RomanAsnError(
                f"-i {bad[0]!r}: candidate ids are letters, digits, '_' and '-' (e.g. o001)"
            )
        if not all_candidates and not discover:
            all_candidates, discover = True, not ids
        return cls(ids=ids, all_candidates=all_candidates, discover=discover, **others)
