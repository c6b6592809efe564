"""The realistic mix of people, budgets and services that synthetic returns draw from."""

# Weights are relative. They are rough shapes of published adult social care statistics
# (SALT, ASCOF), not data: enough that 65+ people mostly get home care on council-managed
# budgets, people with a learning disability get supported living and day opportunities,
# and direct payments are commoner under 65.

from __future__ import annotations

AGE_BAND_WEIGHTS = {"18-64": 40.0, "65+": 60.0}

# Primary support reason by age band; asylum seeker support is rare on purpose, so that
# small returns have all-zero Budgets rows, as real small councils do.
SUPPORT_REASON_WEIGHTS = {
    "18-64": {
        "PHYS_ACCESS": 6,
        "PHYS_PERSONAL": 22,
        "SENS_VISUAL": 1,
        "SENS_HEARING": 0.5,
        "SENS_DUAL": 0.2,
        "MEMORY_COGNITION": 2,
        "LEARNING_DISABILITY": 35,
        "MENTAL_HEALTH": 22,
        "SOC_SUBSTANCE": 1.5,
        "SOC_ASYLUM": 0.1,
        "SOC_ISOLATION": 3,
        "SOC_CARER": 0.5,
        "UNKNOWN": 0.5,
    },
    "65+": {
        "PHYS_ACCESS": 10,
        "PHYS_PERSONAL": 55,
        "SENS_VISUAL": 2,
        "SENS_HEARING": 1,
        "SENS_DUAL": 0.5,
        "MEMORY_COGNITION": 18,
        "LEARNING_DISABILITY": 2,
        "MENTAL_HEALTH": 6,
        "SOC_SUBSTANCE": 0.2,
        "SOC_ASYLUM": 0.01,
        "SOC_ISOLATION": 4,
        "SOC_CARER": 0.5,
        "UNKNOWN": 0.5,
    },
}

BUDGET_TYPE_WEIGHTS = {
    "18-64": {
        "DP_SELF_MANAGED": 28,
        "DP_PART": 4,
        "THIRD_PARTY_MANAGED": 4,
        "ISF": 5,
        "COUNCIL_MANAGED": 44,
        "NO_PERSONAL_BUDGET": 15,
    },
    "65+": {
        "DP_SELF_MANAGED": 9,
        "DP_PART": 2,
        "THIRD_PARTY_MANAGED": 2,
        "ISF": 3,
        "COUNCIL_MANAGED": 64,
        "NO_PERSONAL_BUDGET": 20,
    },
}

DIRECT_PAYMENT_TYPES = ("DP_SELF_MANAGED", "DP_PART", "THIRD_PARTY_MANAGED")

# Multipliers of the direct-payment budget types by support reason.
DP_FACTOR = {"LEARNING_DISABILITY": 1.3, "MENTAL_HEALTH": 0.7, "MEMORY_COGNITION": 0.6}

_PHYS: dict[str, float] = {
    "HOME_CARE": 35,
    "SUPPORTED_LIVING": 4,
    "DAY_OPPORTUNITIES": 8,
    "SHORT_BREAKS": 5,
    "PERSONAL_ASSISTANT": 20,
    "COMMUNITY_ACTIVITIES": 8,
    "EQUIPMENT_TECHNOLOGY": 25,
    "OTHER": 5,
}
_SENS: dict[str, float] = {
    "HOME_CARE": 15,
    "SUPPORTED_LIVING": 2,
    "DAY_OPPORTUNITIES": 5,
    "SHORT_BREAKS": 3,
    "PERSONAL_ASSISTANT": 10,
    "COMMUNITY_ACTIVITIES": 15,
    "EQUIPMENT_TECHNOLOGY": 40,
    "OTHER": 10,
}
_SOCIAL: dict[str, float] = {
    "HOME_CARE": 20,
    "SUPPORTED_LIVING": 8,
    "DAY_OPPORTUNITIES": 10,
    "SHORT_BREAKS": 5,
    "PERSONAL_ASSISTANT": 6,
    "COMMUNITY_ACTIVITIES": 20,
    "EQUIPMENT_TECHNOLOGY": 10,
    "OTHER": 20,
}

# Service types by support reason (for 18-64; see AGE_65_FACTOR).
SERVICE_WEIGHTS: dict[str, dict[str, float]] = {
    "PHYS_ACCESS": _PHYS,
    "PHYS_PERSONAL": _PHYS,
    "SENS_VISUAL": _SENS,
    "SENS_HEARING": _SENS,
    "SENS_DUAL": _SENS,
    "MEMORY_COGNITION": {
        "HOME_CARE": 55,
        "SUPPORTED_LIVING": 5,
        "DAY_OPPORTUNITIES": 25,
        "SHORT_BREAKS": 15,
        "PERSONAL_ASSISTANT": 3,
        "COMMUNITY_ACTIVITIES": 5,
        "EQUIPMENT_TECHNOLOGY": 25,
        "OTHER": 4,
    },
    "LEARNING_DISABILITY": {
        "HOME_CARE": 8,
        "SUPPORTED_LIVING": 35,
        "DAY_OPPORTUNITIES": 35,
        "SHORT_BREAKS": 15,
        "PERSONAL_ASSISTANT": 10,
        "COMMUNITY_ACTIVITIES": 20,
        "EQUIPMENT_TECHNOLOGY": 3,
        "OTHER": 3,
    },
    "MENTAL_HEALTH": {
        "HOME_CARE": 12,
        "SUPPORTED_LIVING": 22,
        "DAY_OPPORTUNITIES": 10,
        "SHORT_BREAKS": 2,
        "PERSONAL_ASSISTANT": 8,
        "COMMUNITY_ACTIVITIES": 25,
        "EQUIPMENT_TECHNOLOGY": 2,
        "OTHER": 12,
    },
}
DEFAULT_SERVICE_WEIGHTS = _SOCIAL

# Older people get more home care and telecare, fewer personal assistants and less
# supported living.
AGE_65_FACTOR = {
    "HOME_CARE": 1.8,
    "PERSONAL_ASSISTANT": 0.4,
    "SUPPORTED_LIVING": 0.4,
    "EQUIPMENT_TECHNOLOGY": 1.3,
}

# Services per person: 1 to 4, about 2.2 on average (27,000 people -> ~60,000 Clients rows).
SERVICE_COUNT_WEIGHTS = (32, 30, 24, 14)

# Council-arranged services: chance of a block rather than a spot contract.
BLOCK_SHARE = {
    "HOME_CARE": 0.55,
    "SUPPORTED_LIVING": 0.4,
    "DAY_OPPORTUNITIES": 0.6,
    "SHORT_BREAKS": 0.5,
    "PERSONAL_ASSISTANT": 0.0,
    "COMMUNITY_ACTIVITIES": 0.3,
    "EQUIPMENT_TECHNOLOGY": 0.8,
    "OTHER": 0.3,
}

# Weekly cost in pence, (low, high), for services not priced by the hour. Every low end is
# at least 300p (GBP 156 a year) and every high end well under GBP 9,615 a week, so spend
# per person on any Services row stays inside rule S005's GBP 100..500,000 a year.
WEEKLY_COST_PENCE = {
    "SUPPORTED_LIVING": (40_000, 250_000),
    "DAY_OPPORTUNITIES": (6_000, 40_000),
    "SHORT_BREAKS": (3_000, 30_000),
    "COMMUNITY_ACTIVITIES": (2_000, 20_000),
    "EQUIPMENT_TECHNOLOGY": (300, 3_000),
    "OTHER": (1_000, 30_000),
}
# Hourly services: (half-hours low, half-hours high), (rate pence low, rate pence high).
HOURLY = {
    "HOME_CARE": ((4, 56), (1_400, 2_400)),
    "PERSONAL_ASSISTANT": ((8, 80), (1_100, 1_600)),
}

# Share of COUNCIL_MANAGED people holding a nominal budget (rule C007 queries above 20%).
NOMINAL_SHARE = 0.10
