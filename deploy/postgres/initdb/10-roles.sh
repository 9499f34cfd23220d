#!/bin/sh
# Runs once, as the server's superuser, when the official postgres image initialises an empty data directory
# (mounted at /docker-entrypoint-initdb.d/). Creates the clinic's two logins and its database:
#   CLINIC_OWNER (clinic_owner) owns the database and every table; only the one-shot `migrate` service uses it.
#   CLINIC_APP_ROLE (clinic_app) is the app's login; it gets its table privileges after each migrate
#   (clinic/dbroles.py) and never owns anything, so it cannot alter, truncate or disable the triggers of a table.
# Passwords come from files (Docker secrets) or variables. Also runnable by hand against an existing server:
#   POSTGRES_USER=postgres PGHOST=db CLINIC_OWNER_PASSWORD=... CLINIC_APP_PASSWORD=... sh 10-roles.sh
set -eu

read_secret() {  # the value of $1, or the contents of the file named by $1_FILE
    eval "file=\${${1}_FILE:-}"
    if [ -n "$file" ]; then cat "$file"; else eval "printf '%s' \"\${$1:?$1 or ${1}_FILE must be set}\""; fi
}

owner="${CLINIC_OWNER:-clinic_owner}"
app="${CLINIC_APP_ROLE:-clinic_app}"
database="${CLINIC_DB:-clinic}"
owner_password="$(read_secret CLINIC_OWNER_PASSWORD)"
app_password="$(read_secret CLINIC_APP_PASSWORD)"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v owner="$owner" -v app="$app" -v database="$database" \
    -v owner_password="$owner_password" -v app_password="$app_password" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT PASSWORD :'app_password';
CREATE DATABASE :"database" OWNER :"owner";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"app";
\connect :"database"
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
SQL
