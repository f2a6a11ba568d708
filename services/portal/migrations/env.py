"""Alembic environment of the portal service."""

from chassis.migrations import run
from portal import SERVICE
from portal.models import Base

run(SERVICE, Base.metadata)
