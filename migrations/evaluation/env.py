from migrations.env_common import run_migrations
from services.evaluation.models import Base

run_migrations(Base.metadata, "evaluation")
