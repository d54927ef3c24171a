-- Two-role set-up for the advisor's database (see README, "Two roles").
--
--   hwlab_owner  owns the schema: runs the migrations (HWLAB_MIGRATE_DATABASE_URL,
--                `advisor migrate apply`) and owns every table they create,
--                atlas_schema_revisions included.
--   hwlab_app    what the running advisor connects as (HWLAB_DATABASE_URL):
--                SELECT, INSERT, UPDATE, DELETE on the tables, nothing else.
--                It cannot create, alter or drop anything.
--
-- Create the roles and the database first, as a superuser, e.g.
--   CREATE ROLE hwlab_owner LOGIN PASSWORD '…';
--   CREATE ROLE hwlab_app   LOGIN PASSWORD '…';
--   CREATE DATABASE hwlab OWNER hwlab_owner;
-- then run this file as a superuser while connected to that database:
--   psql -v ON_ERROR_STOP=1 -d hwlab -f deploy/postgres-roles.sql
-- Run it before the first migration or after; it is idempotent. Rename the
-- roles throughout if yours differ.

-- Nobody else may connect or create temporary tables.
DO $$
BEGIN
	EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
	-- CREATE on the database: the migrations create the schema
	-- atlas_schema_revisions (implied when hwlab_owner owns the database).
	EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO hwlab_owner', current_database());
	EXECUTE format('GRANT CONNECT ON DATABASE %I TO hwlab_app', current_database());
END
$$;

-- Only the owner creates objects in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO hwlab_owner;
GRANT USAGE ON SCHEMA public TO hwlab_app;

-- Tables that exist already (when run after migrating) ...
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hwlab_app;
-- ... and every table a later migration creates as hwlab_owner.
ALTER DEFAULT PRIVILEGES FOR ROLE hwlab_owner IN SCHEMA public
	GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hwlab_app;
-- Today's tables use UUID defaults, not sequences; should a later migration
-- add a serial or identity column, inserting into it needs this (not DDL).
ALTER DEFAULT PRIVILEGES FOR ROLE hwlab_owner IN SCHEMA public
	GRANT USAGE, SELECT ON SEQUENCES TO hwlab_app;
