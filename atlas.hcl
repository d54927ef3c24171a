# Atlas CLI project file (https://atlasgo.io/atlas-schema/projects).
# The database URL is read from the environment, never written here (keep
# its password in ~/.pgpass, see README "Operating the database"):
#
#   HWLAB_DATABASE_URL=postgres://… atlas migrate status --env local
#   HWLAB_DATABASE_URL=postgres://… atlas migrate apply --env local
#
# A database made by the original schema's code (v1): check it with
# `advisor migrate apply --dry-run --baseline 20261127162448` first (the CLI
# does not compare schemas), then `atlas migrate apply --env local
# --baseline 20261127162448`.
#
# The open-source CLI cannot read ent:// schemas; write new migrations with
# `make migration name=…` instead of `atlas migrate diff`.

env "local" {
  url = getenv("HWLAB_DATABASE_URL")
  migration {
    dir = "file://migrate/migrations"
    # The schema `advisor migrate apply` and store.RunMigrations use, whatever
    # the URL's search_path, so the CLI and the advisor share one history.
    revisions_schema = "atlas_schema_revisions"
  }
}
