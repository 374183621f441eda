from gateway.models import Base
from migrations.env_common import run_migrations

run_migrations(Base.metadata, "gateway")
