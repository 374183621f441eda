from migrations.env_common import run_migrations
from services.indicator.models import Base

run_migrations(Base.metadata, "indicator")
