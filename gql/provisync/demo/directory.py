"""A deterministic demo directory: a few hundred people in departments, and some groups."""

from __future__ import annotations

import random
from dataclasses import dataclass

GIVEN = (
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Vint",
    "Hedy",
    "Tim",
    "Katherine",
    "John",
    "Sophie",
    "Guido",
    "Anita",
    "Niklaus",
)
FAMILY = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Cerf",
    "Lamarr",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Wilson",
    "van Rossum",
    "Borg",
    "Wirth",
)
DEPARTMENTS = {
    "Engineering": (
        "Software Engineer",
        "Senior Software Engineer",
        "Staff Engineer",
        "Engineering Manager",
    ),
    "Sales": ("Account Executive", "Sales Engineer", "Sales Manager"),
    "Support": ("Support Specialist", "Support Lead"),
    "People": ("HR Partner", "Recruiter"),
    "Finance": ("Accountant", "Controller"),
}


@dataclass(frozen=True)
class DemoUser:
    user_name: str
    given_name: str
    family_name: str
    email: str
    phone: str
    title: str
    department: str
    employee_id: str
    active: bool = True


def demo_users(count: int = 300, seed: int = 7) -> list[DemoUser]:
    rng = random.Random(seed)
    users = []
    for i in range(count):
        given, family = GIVEN[i % len(GIVEN)], FAMILY[(i * 7 + i // len(GIVEN)) % len(FAMILY)]
        department = rng.choice(list(DEPARTMENTS))
        slug = f"{given}.{family}".lower().replace(" ", "").replace("-", "")
        user_name = f"{slug}{i}"
        users.append(
            DemoUser(
                user_name=user_name,
                given_name=given,
                family_name=family,
                email=f"{user_name}@example.com",
                phone=f"+1 415-555-{1000 + i:04d}",
                title=rng.choice(DEPARTMENTS[department]),
                department=department,
                employee_id=f"E{10000 + i}",
                active=i % 53 != 0,  # a few people on leave
            )
        )
    return users


GROUPS = ("Engineering", "Sales", "Support", "People", "Finance", "All Staff", "On-call")
