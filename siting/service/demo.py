"""`siting serve --demo`: an organisation, a user and a project from a bundled scenario,
so that a fresh install has something to log in to and edit."""

from __future__ import annotations

from sqlalchemy import select

from siting.service import accounts, projects
from siting.service.database import Database
from siting.service.models import Project, User

DEMO_ORG = "demo"
DEMO_EMAIL = "demo@example.org"
#: printed by `siting serve --demo`; the demo serves 127.0.0.1 unless told otherwise
DEMO_PASSWORD = "siting-demo-password"
DEMO_SCENARIO = "karlstad"


def ensure_demo(database: Database) -> tuple[str, str]:
    """Create the demo user and project once; returns the e-mail and password."""
    with database.session() as session:
        user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
        if user is None:
            user = accounts.add_user(
                session, org_slug=DEMO_ORG, email=DEMO_EMAIL, password=DEMO_PASSWORD
            )
        has_project = session.scalar(select(Project.id).where(Project.org_id == user.org_id))
        if has_project is None:
            projects.create_project(session, user.org_id, DEMO_SCENARIO, None)
    return DEMO_EMAIL, DEMO_PASSWORD
