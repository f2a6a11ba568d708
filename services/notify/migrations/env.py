"""Alembic environment of the notify service."""

from chassis.migrations import run
from notify import SERVICE
from notify.models import Base

run(SERVICE, Base.metadata)
