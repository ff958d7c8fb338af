-- The daily digest of the relance list (how many demands to chase, a link;
-- no personal data) goes to a registering organisation's contact address,
-- once a day across replicas: the row is taken before the mail is sent
-- and given back if sending fails. Keep in step with the other database's set.
ALTER TABLE organisations ADD COLUMN contact_email TEXT;
CREATE TABLE digests (
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    day              TEXT NOT NULL,       -- ISO date
    demands          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, day)
);
