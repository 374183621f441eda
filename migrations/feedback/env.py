from migrations.env_common import run_migrations
from services.feedback.models import Base

run_migrations(Base.metadata, "feedback")
