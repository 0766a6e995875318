"""The partner programs and their offers, as every request reads them: from a
per-process snapshot (``core.snapshot``)."""

from __future__ import annotations

from dataclasses import dataclass

from partnerdesk.core.snapshot import Snapshot
from partnerdesk.partners.models import Program, ProgramOffer


@dataclass(frozen=True)
class ProgramCatalog:
    programs: dict[int, Program]
    by_code: dict[str, Program]
    offers: dict[tuple[int, str], ProgramOffer]  # (program id, offer code)

    @classmethod
    def load(cls) -> ProgramCatalog:
        programs = {p.pk: p for p in Program.objects.all()}
        offers = {}
        for offer in ProgramOffer.objects.all():
            offer.program = programs[offer.program_id]
            offers[(offer.program_id, offer.code)] = offer
        return cls(programs=programs, by_code={p.code: p for p in programs.values()}, offers=offers)


_programs = Snapshot("programs", ProgramCatalog.load, models=[Program, ProgramOffer])


def program_catalog() -> ProgramCatalog:
    return _programs.get()


def programs_by_id() -> dict[int, Program]:
    return _programs.get().programs


def program_code(program_id: int | None) -> str | None:
    """The code of a benefit's program (``None`` for a paid plan, which has none)."""
    program = programs_by_id().get(program_id)
    return program.code if program is not None else None


def offers_by_key() -> dict[tuple[int, str], ProgramOffer]:
    return _programs.get().offers


def program_offers(program_id: int | None) -> list[ProgramOffer]:
    """A program's offers in their order."""
    return sorted(
        (o for o in offers_by_key().values() if o.program_id == program_id),
        key=lambda o: (o.position, o.code),
    )


def offer_named(program_id: int | None, codes: str) -> str:
    """An offer's name, or several offers' joined ("Partner Success Core + Solutions
    Partner"), in the reader's language; an unknown code shows as stored."""
    offers = offers_by_key()
    names = []
    for code in codes.split("+"):
        offer = offers.get((program_id, code))
        names.append(offer.display_name if offer is not None else code)
    return " + ".join(names)


def programs_forget() -> None:
    _programs.clear()
