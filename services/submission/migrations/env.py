"""Alembic environment of the submission service."""

from chassis.migrations import run
from submission import SERVICE
from submission.models import Base

run(SERVICE, Base.metadata)
