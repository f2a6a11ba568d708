"""Alembic environment of the awards service."""

from awards import SERVICE
from awards.models import Base
from chassis.migrations import run

run(SERVICE, Base.metadata)
