-- tools/compose/postgres-init.sql — run once by the postgres image (docker-entrypoint-initdb.d) on an
-- empty data volume, as the image's superuser `postgres`. It provisions exactly what tools/infra
-- (pg_provision) does: the owner role `traceo` (not a superuser) with database `traceo`, and one
-- owner role per service, traceo_<domain>, owning schema <domain> and running its migrations, and the
-- least-privilege runtime role traceo_<domain>_app the service connects as (plus traceo_audit_verifier).
-- All passwords are DEV-ONLY defaults, the same as tools/infra's; never reuse them elsewhere.
\set ON_ERROR_STOP on

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo') THEN CREATE ROLE traceo; END IF;
END $$;
ALTER ROLE traceo LOGIN CREATEDB CREATEROLE PASSWORD 'traceo';
SELECT 'CREATE DATABASE traceo OWNER traceo' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'traceo')\gexec
REVOKE ALL ON DATABASE traceo FROM PUBLIC;

\connect traceo
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- auth-service
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_auth') THEN CREATE ROLE traceo_auth; END IF;
END $$;
ALTER ROLE traceo_auth LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_auth';
ALTER ROLE traceo_auth IN DATABASE traceo SET search_path = auth, public;
CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION traceo_auth;
GRANT CONNECT ON DATABASE traceo TO traceo_auth;
GRANT traceo_auth TO traceo;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_auth_app') THEN CREATE ROLE traceo_auth_app; END IF;
END $$;
ALTER ROLE traceo_auth_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_auth_app';
ALTER ROLE traceo_auth_app IN DATABASE traceo SET search_path = auth;
GRANT CONNECT ON DATABASE traceo TO traceo_auth_app;
GRANT USAGE ON SCHEMA auth TO traceo_auth_app;

-- encryption-service
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_encryption') THEN CREATE ROLE traceo_encryption; END IF;
END $$;
ALTER ROLE traceo_encryption LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_encryption';
ALTER ROLE traceo_encryption IN DATABASE traceo SET search_path = encryption, public;
CREATE SCHEMA IF NOT EXISTS encryption AUTHORIZATION traceo_encryption;
GRANT CONNECT ON DATABASE traceo TO traceo_encryption;
GRANT traceo_encryption TO traceo;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_encryption_app') THEN CREATE ROLE traceo_encryption_app; END IF;
END $$;
ALTER ROLE traceo_encryption_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_encryption_app';
ALTER ROLE traceo_encryption_app IN DATABASE traceo SET search_path = encryption;
GRANT CONNECT ON DATABASE traceo TO traceo_encryption_app;
GRANT USAGE ON SCHEMA encryption TO traceo_encryption_app;

-- audit-service
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_audit') THEN CREATE ROLE traceo_audit; END IF;
END $$;
ALTER ROLE traceo_audit LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_audit';
ALTER ROLE traceo_audit IN DATABASE traceo SET search_path = audit, public;
CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION traceo_audit;
GRANT CONNECT ON DATABASE traceo TO traceo_audit;
GRANT traceo_audit TO traceo;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_audit_app') THEN CREATE ROLE traceo_audit_app; END IF;
END $$;
ALTER ROLE traceo_audit_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_audit_app';
ALTER ROLE traceo_audit_app IN DATABASE traceo SET search_path = audit;
GRANT CONNECT ON DATABASE traceo TO traceo_audit_app;
GRANT USAGE ON SCHEMA audit TO traceo_audit_app;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_audit_verifier') THEN CREATE ROLE traceo_audit_verifier; END IF;
END $$;
ALTER ROLE traceo_audit_verifier LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_audit_verifier';
ALTER ROLE traceo_audit_verifier IN DATABASE traceo SET search_path = audit;
GRANT CONNECT ON DATABASE traceo TO traceo_audit_verifier;
GRANT USAGE ON SCHEMA audit TO traceo_audit_verifier;

-- risk-service
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_risk') THEN CREATE ROLE traceo_risk; END IF;
END $$;
ALTER ROLE traceo_risk LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_risk';
ALTER ROLE traceo_risk IN DATABASE traceo SET search_path = risk, public;
CREATE SCHEMA IF NOT EXISTS risk AUTHORIZATION traceo_risk;
GRANT CONNECT ON DATABASE traceo TO traceo_risk;
GRANT traceo_risk TO traceo;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_risk_app') THEN CREATE ROLE traceo_risk_app; END IF;
END $$;
ALTER ROLE traceo_risk_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_risk_app';
ALTER ROLE traceo_risk_app IN DATABASE traceo SET search_path = risk;
GRANT CONNECT ON DATABASE traceo TO traceo_risk_app;
GRANT USAGE ON SCHEMA risk TO traceo_risk_app;

-- compliance-service
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_compliance') THEN CREATE ROLE traceo_compliance; END IF;
END $$;
ALTER ROLE traceo_compliance LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_compliance';
ALTER ROLE traceo_compliance IN DATABASE traceo SET search_path = compliance, public;
CREATE SCHEMA IF NOT EXISTS compliance AUTHORIZATION traceo_compliance;
GRANT CONNECT ON DATABASE traceo TO traceo_compliance;
GRANT traceo_compliance TO traceo;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'traceo_compliance_app') THEN CREATE ROLE traceo_compliance_app; END IF;
END $$;
ALTER ROLE traceo_compliance_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'traceo_compliance_app';
ALTER ROLE traceo_compliance_app IN DATABASE traceo SET search_path = compliance;
GRANT CONNECT ON DATABASE traceo TO traceo_compliance_app;
GRANT USAGE ON SCHEMA compliance TO traceo_compliance_app;
