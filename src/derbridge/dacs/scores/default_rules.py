"""The default score rule set: what a program without a rule set of its own is scored by (docs/scores.md works
it through). Kept as data, in the same form a program manager saves a rule set in.

It rewards devices that are available, rested and reliable, and that have used little of their program's cap:
- HEADROOM, the share of the cycle's cap not yet used: 1 - BR, kept between 0 and 1;
- REST, how rested the device is: the days since its last successful participation against the cycle's days;
- RELIABILITY, 1 less a fifth per non-response, a quarter per in-flight override and a tenth per opt-out in
  the last 90 days, never below 0;
- SC, the score from 0 to 100: availability times the score factor of the device's next participation in the
  cycle (SN), times its reliability, times headroom and rest weighed 60/40, rounded to 2 decimals.

Eligible devices communicate, are available, are under their cap and have overridden fewer than three events
in 90 days; the first condition a device fails gives its reason.
"""

from __future__ import annotations

from derbridge.dacs.scores.formula import Condition, Rule

NAME = "DEFAULT"
RULES = (
    Rule("HEADROOM", "clamp(1 - BR, 0, 1)"),
    Rule("REST", "min(DE / DP, 1)"),
    Rule("RELIABILITY", "max(1 - 0.2 * ND - 0.25 * IO - 0.1 * OO, 0)"),
    Rule("SC", "round(100 * AV * SN[CU + 1] * RELIABILITY * (0.6 * HEADROOM + 0.4 * REST), 2)"),
)
ELIGIBILITY = (
    Condition("CM > 0", "NOT_COMMUNICATING"),
    Condition("AV > 0", "NOT_AVAILABLE"),
    Condition("CU < CA", "CAP_REACHED"),
    Condition("IO < 3", "TOO_MANY_OVERRIDES"),
)
FACTORS = {"SN": (1.0, 0.9, 0.8, 0.65, 0.5, 0.35)}
DESCRIPTION = ("Available, rested, reliable devices with cap to spare score highest; communication, availability, "
               "the cap and in-flight overrides decide eligibility")
