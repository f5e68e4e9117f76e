"""Framing lexicons for stance: phrases whose use in the item's own voice takes a side.

``anti`` = favours limiting or ending local cooperation with federal immigration enforcement;
``pro`` = favours cooperation or criticises limiting it. Weights: 2 = unmistakable framing,
1 = clear lean, 0.5 = mild lean that only counts in numbers. Patterns are regex fragments matched on
lower-cased text at word boundaries. The evaluative word lists (NEGATIVE/POSITIVE) are direction-free:
their side depends on what the sentence talks about (cooperation vs limiting it), see ``stance.py``.
"""

from __future__ import annotations

ANTI_PHRASES: tuple[tuple[str, float], ...] = (
    (r"victory for (?:immigrant|the immigrant|our communit|immigrants|families)", 2.0),
    (r"immigrant rights?", 1.0),
    (r"stand\w* (?:up )?(?:for|with) (?:immigrants|immigrant families|our immigrant|refugees)", 1.5),
    (r"rights of (?:all )?immigrants", 1.0),
    (r"tear(?:s|ing)? (?:\w+ )?families apart", 2.0),
    (r"deportation (?:machine|pipeline|dragnet)", 2.0),
    (r"mass deportation", 1.0),
    (r"racial(?:ly)? profil\w+", 1.5),
    (r"civil and human rights", 1.5),
    (r"human rights abuses?", 2.0),
    (r"fear[- ]?mongering", 2.0),
    (r"family separations?", 1.0),
    (r"fourth amendment", 1.0),
    (r"unreasonable seizures?", 1.5),
    (r"violat\w+ (?:the )?(?:u\.s\. )?constitution", 1.5),
    (r"due process", 0.5),
    (r"unlawful (?:agreement|detention|program)", 1.5),
    (r"collud\w+", 1.5),
    (r"anti-immigrant", 1.5),
    (r"xenophob\w+", 2.0),
    (r"courageous", 1.5),
    (r"justice and equity", 1.5),
    (r"social justice", 1.0),
    (r"community trust", 1.0),
    (r"trust (?:between|with) (?:law enforcement|police|the police|local police)", 1.0),
    (r"(?:strengthen|build|rebuild|restore|foster)\w* (?:\w+ )?trust", 1.0),
    (r"inclusiv\w+", 1.0),
    (r"welcoming (?:city|county|community|ordinance|policy)", 1.0),
    (r"compassionate", 1.0),
    (r"humane", 1.0),
    (r"dignity", 1.0),
    (r"without (?:the )?(?:constant )?fear of (?:being )?deport\w+", 1.0),
    (r"fear of deportation", 1.0),
    (r"abuses", 1.5),
    (r"mismanaged", 1.5),
    (r"controversial (?:287|program|agreement|contract|partnership)", 0.5),
    (r"good first step", 1.5),
    (r"step (?:in the right direction|toward (?:justice|inclusiv))", 1.5),
    (
        r"(?:harmful|aggressive|cruel|draconian|inhumane) (?:\w+ )?(?:immigration|enforcement|deportation)",
        1.5,
    ),
    (r"immigrant (?:neighbors|families)", 0.5),
    (r"otherwise law-abiding", 0.5),
    (r"give in(?:to)? (?:the )?fear|giving in(?:to)? (?:the )?fear", 1.5),
    (
        r"(?:end|ending|stop|abolish)(?:ing)? (?:the )?(?:287\(g\)|ice) (?:program|agreement"
        r"|contract|partnership)s?"
        r" (?:now|immediately)",
        1.5,
    ),
)

PRO_PHRASES: tuple[tuple[str, float], ...] = (
    (r"criminal illegal aliens?", 2.0),
    (r"illegal aliens?", 2.0),
    (r"criminal aliens?", 2.0),
    (r"illegals\b", 2.0),
    (r"illegal immigrants?", 1.0),
    (r"sanctuary (?:polic\w+|cities|city|laws?|jurisdictions?) (?:\w+ )?endanger\w*", 2.0),
    (r"endanger\w* (?:public|our|the) (?:safety|communit\w+)", 1.0),
    (r"public safety (?:risk|threat|crisis)", 1.5),
    (r"releas\w+ (?:\w+ )?(?:criminals|dangerous|violent|sex offenders|predators)", 1.5),
    (r"released back into", 1.5),
    (r"intentionally released", 1.5),
    (r"rule of law", 1.5),
    (r"rules of law", 1.0),
    (r"angel (?:families|moms|mothers|parents|dads)", 2.0),
    (r"risky gamble", 1.5),
    (r"risky defiance", 1.0),
    (r"defian\w+ of (?:federal |the )?law", 1.5),
    (r"blatant defiance", 2.0),
    (r"defies|defying federal|defy federal", 1.5),
    (r"shield\w* (?:illegal|criminal|dangerous)", 2.0),
    (r"harbor\w* (?:illegal|criminal)", 2.0),
    (r"embolden\w* (?:criminal|illegal)", 2.0),
    (r"obey (?:federal|the) law", 1.5),
    (r"follow the (?:rule of )?law", 1.0),
    (r"lawless", 1.5),
    (r"submits? to pressure|bow\w* to pressure|caves? to|caved to", 2.0),
    (r"support (?:our|the) sheriff", 2.0),
    (r"(?:keep|keeping) \w+(?: \w+)? safe from (?:illegal|criminal)", 2.0),
    (r"(?:predators|violent criminals|sex offenders|gang members)", 0.5),
    (r"nullif\w+ federal law", 1.5),
    (r"political stunt", 1.5),
    (r"sanctuary (?:city|cities|county|counties|state) (?:crisis|madness|nonsense|scheme)", 2.0),
    (r"(?:impose|imposes|imposing|place|places|placing) (?:\w+ )?burdens? on", 1.0),
    (r"(?:improve|enhance|strengthen)\w* cooperation", 1.0),
    (r"threat to public safety", 0.5),
    (r"border (?:security|crisis|invasion)", 0.5),
    (r"invasion", 1.0),
    (r"safe haven for (?:illegal|criminal)", 1.5),
    (r"force multiplier", 0.5),
)

# Direction-free evaluation: its side depends on the sentence's target.
NEGATIVE_WORDS = (
    r"abus\w+|mismanag\w+|unlawful|unconstitutional|discriminat\w+|harmful|dangerous|reckless|lawless"
    r"|shameful|disgrace\w*|outrag\w+|troubling|disturbing|cruel|inhumane|mistrust|distrust|misuse"
    r"|wasteful|drain|failed|flawed|endanger\w*|jeopardiz\w*|undermin\w*|erod\w+|violat\w+|sadly"
    r"|unfortunately|blatant|defian\w+|defies|defy|stunt|irresponsible|misguided|maligned|fear|threat\w*"
    r"|negative\w*|damag\w+|unjust\w*|illegitimate"
)
POSITIVE_WORDS = (
    r"victory|proud|applaud\w*|commend\w*|courageous|brave|welcome\w*|grateful|thankful|celebrat\w+"
    r"|safer|commonsense|common-sense|successful|pleased|great to work with|good first step|inspir\w+"
    r"|right thing|step forward|model for|protect\w*"
)
# What the sentence talks about: keeping/expanding cooperation, or limiting/ending it.
COOPERATION_TARGETS = (
    r"287\s?\(?g\)?|cooperat\w+ with (?:federal |u\.s\. )?(?:immigration|ice)"
    r"|(?:agreement|contract|partnership) with (?:u\.s\. )?(?:immigration|ice|dhs|homeland)"
    r"|ice (?:agreement|contract|partnership|program)"
    r"|honor\w* (?:ice )?detainers|deputiz\w+|task force model|immigration holds?"
    r"|detain\w* (?:\w+ ){0,2}(?:immigrants|noncitizens|for ice|for immigration|on behalf of)"
)
LIMIT_TARGETS = (
    r"sanctuary|refus\w+ to (?:cooperate|work|honor|comply)|not (?:to )?(?:cooperate|honor|comply)"
    r"|no longer (?:cooperate|collaborate|hold|house|honor)|(?:end|ending|ended|terminat\w+|cut\w*|sever\w*)"
    r" (?:its |the |their )?(?:ties|contract|agreement|cooperation|participation)|ignor\w+ (?:\w+ )?detainers"
)
# Both sides laid out in the item's own structure: balanced reporting.
BALANCE_MARKERS = (
    r"on the other hand|on one hand|conversely|both sides|(?:has|have) been mixed|reactions? (?:\w+ )?mixed"
    r"|is divided|are divided|supporters (?:of \w+ )?(?:argue|say|believe|view|contend)"
    r"|critics (?:of \w+ )?(?:argue|say|contend|worry|express|warn)|opponents (?:argue|say|contend)"
    r"|proponents (?:argue|say)"
)
