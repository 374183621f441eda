"""One Alembic environment per component (`migrations/<component>/`), each with its own
version table, run by `govperf migrate` and on start-up."""
