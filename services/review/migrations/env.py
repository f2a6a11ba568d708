"""Alembic environment of the review service."""

from chassis.migrations import run
from review import SERVICE
from review.models import Base

run(SERVICE, Base.metadata)
