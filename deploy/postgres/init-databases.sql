-- docker-compose: one database per service (each service owns its schema).
CREATE DATABASE admissions;
CREATE DATABASE gaps;
CREATE DATABASE outreach;
CREATE DATABASE billing;
CREATE DATABASE notifications;
CREATE DATABASE portal;
CREATE DATABASE risk;
CREATE DATABASE intake;
