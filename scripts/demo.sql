-- scripts/demo.sql: the demo data set of scripts/demo, loaded with psql.
--
-- Creates (replacing it) the schema "demo" in whatever database psql is
-- connected to, with tables shaped like the ones redshiftsync meets:
--   demo.orders                 ~1,000,000 rows, bigint key, an updated_at with
--                               many ties (7 rows a second), index (updated_at, id)
--   demo.events                 insert-only, identity key, jsonb payload
--   demo.country_codes          no primary key and no usable key (has duplicates)
--   demo."Order Items; --drop"  awkward names: spaces, keywords, quotes, unicode
--
-- DROP SCHEMA demo CASCADE comes first: point it only at a scratch database.

\set ON_ERROR_STOP on
SET client_min_messages = warning;

DROP SCHEMA IF EXISTS demo CASCADE;
CREATE SCHEMA demo;

-- orders ----------------------------------------------------------------------
CREATE TABLE demo.orders (
    id          bigint PRIMARY KEY,
    customer_id int,
    status      varchar(16),
    amount      numeric(12,2),
    note        text,
    created_at  timestamptz,
    updated_at  timestamp NOT NULL
);

INSERT INTO demo.orders (id, customer_id, status, amount, note, created_at, updated_at)
SELECT i,
       1 + (i * 7919) % 50000,
       (ARRAY['new', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'])[1 + i % 6],
       round(((i * 7727) % 10000000) / 100.0, 2),
       CASE
           WHEN i % 10 = 0 THEN NULL
           WHEN i % 97 = 0 THEN E'gift: "wrap it", back\\slash, tab\there, new\nline, émoji 🎁'
           ELSE 'order #' || i
       END,
       timestamptz '2023-12-31 12:00:00+00' + (i / 7) * interval '1 second',
       -- 7 rows share each second: paging by updated_at alone would skip rows.
       timestamp '2024-01-01' + (i / 7) * interval '1 second'
FROM generate_series(1::bigint, 1000000) AS i;

CREATE INDEX orders_updated_at_id ON demo.orders (updated_at, id);

-- events ----------------------------------------------------------------------
CREATE TABLE demo.events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text,
    payload     jsonb,
    occurred_at timestamptz
);

INSERT INTO demo.events (kind, payload, occurred_at)
SELECT (ARRAY['click', 'view', 'signup', 'purchase'])[1 + i % 4],
       jsonb_build_object(
           'seq', i,
           'user', 'user-' || (i % 5000),
           'tags', jsonb_build_array('a', i % 3, i % 2 = 0),
           'nested', jsonb_build_object('score', i / 3.0, 'note', CASE WHEN i % 50 = 0 THEN NULL ELSE 'n' || i END),
           'text', E'quote " backslash \\ unicode ✓'),
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute'
FROM generate_series(1, 100000) AS i;

-- country_codes: no primary key, no unique key, a few duplicate rows ---------
CREATE TABLE demo.country_codes (
    code       char(2),
    name       text,
    birth_date date
);

INSERT INTO demo.country_codes (code, name, birth_date)
SELECT chr(65 + i / 26) || chr(65 + i % 26),
       'Country ' || chr(65 + i / 26) || chr(65 + i % 26),
       CASE WHEN i % 9 = 0 THEN NULL ELSE date '1900-01-01' + i * 97 END
FROM generate_series(0, 239) AS i;

INSERT INTO demo.country_codes (code, name, birth_date) VALUES
    ('CI', 'Côte d''Ivoire', '1960-08-07'),
    ('AX', 'Åland Islands', NULL),
    ('RE', 'Réunion', '1946-03-19'),
    ('JP', '日本', NULL),
    ('XX', NULL, NULL),
    -- exact duplicates of earlier rows
    ('CI', 'Côte d''Ivoire', '1960-08-07'),
    ('XX', NULL, NULL),
    ('XX', NULL, NULL),
    ('AA', 'Country AA', NULL),
    ('AB', 'Country AB', date '1900-01-01' + 97);

-- awkward names ---------------------------------------------------------------
CREATE TABLE demo."Order Items; --drop" (
    "Line No"    int PRIMARY KEY,
    "select"     text,
    "quote""col" numeric(38,10),
    "ünïcode"    text
);

INSERT INTO demo."Order Items; --drop" ("Line No", "select", "quote""col", "ünïcode")
SELECT i,
       CASE WHEN i % 11 = 0 THEN NULL ELSE 'item ' || i || E' "quoted"\t''single''' END,
       (i * 1234567.0123456789 * CASE WHEN i % 2 = 0 THEN -1 ELSE 1 END)::numeric(38,10),
       'ünïcode ' || i || ' ✓ 日本語'
FROM generate_series(1, 3000) AS i;

ANALYZE demo.orders;
ANALYZE demo.events;
ANALYZE demo.country_codes;
ANALYZE demo."Order Items; --drop";
