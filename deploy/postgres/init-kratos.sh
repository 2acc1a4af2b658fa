#!/bin/sh
# Runs once, when the postgres volume is first initialised: a database and role for Ory Kratos
# beside the product's database (the product's tables are created by the apps themselves).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create role kratos login password '${KRATOS_DB_PASSWORD}';
create database kratos owner kratos;
SQL
