"""Word lists that tell a place name from a person, a firm or a common word (used by ``places``)."""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


CONNECTORS = frozenset({"of", "de", "del", "la", "las", "los", "le", "du", "upon", "on"})
PERSON_TITLES = frozenset(
    _words(
        "sheriff mayor gov gov. governor sen sen. senator rep rep. representative judge chief"
        " commissioner president secretary director mr mr. ms ms. mrs mrs. dr dr. officer deputy"
        " attorney councilman councilwoman councilmember supervisor executive sgt sgt. lt lt. capt"
        " capt. detective pastor rev rev. coach agent spokesman spokeswoman trustee member manager"
        " chair chairman chairwoman"
    )
)
# Capitalised words that may stand just before a place name without making it a person's name.
LEADING_OK = frozenset(
    _words(
        "the in at of on from to for by with near across outside inside throughout and but while when"
        " after before since unlike like meanwhile today yesterday last this that a an as both"
        " neighboring neighbouring nearby suburban rural urban downtown greater metro metropolitan"
        " north south east west northern southern eastern western central northeast northwest"
        " southeast southwest upstate downstate coastal city town village township borough county"
        " suburb suburbs breaking just in update exclusive watch video photos opinion editorial letter"
        " new"
    )
)
# Words after a place name that mark it as a government or as the place (not a firm or a person).
GOV_AFTER = frozenset(
    _words(
        "city council mayor police pd sheriff sheriff's jail detention board commission commissioners"
        " commissioners' township village town municipal government officials leaders residents"
        " aldermen selectboard selectmen supervisors freeholders legislature court executive manager"
        " attorney administrator hall department"
    )
)
FEATURE_AFTER = frozenset(
    _words(
        "river lake valley delta bay sound gulf mountains mountain street st st. avenue ave ave. road"
        " rd boulevard blvd drive parkway highway hwy bridge tunnel airport university college field"
        " stadium arena center centre mall plaza rink station line express heights"
    )
)
NEEDS_CUE = frozenset(
    _words(
        "enterprise independence paradise surprise mobile jamaica ontario vancouver valencia columbia"
        " lincoln jackson warren tyler norman montgomery henderson richardson irving everett kent"
        " lancaster madison lafayette cleveland hampton clovis brandon cary elizabeth athens"
        " manchester birmingham cambridge orange chinatown koreatown tri-cities meads maryvale"
        " bushwick gravesend victoria providence washington mission commerce justice industry liberty"
        " union hope unity victory security marshall harlem queens brooklyn manhattan"
    )
)
STATE_GOV_AFTER = frozenset(
    _words(
        "legislature senate house assembly governor gov attorney sheriffs counties statute law laws"
        " code department republican democratic gop"
    )
)
