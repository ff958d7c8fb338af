-- A household member's name is personal: it is now sealed under the
-- dossier key (bound to the piece id) like the rest of a piece's metadata,
-- so crypto-shredding takes it too. `member` keeps the names of pieces
-- stored before, until `dnu-vault reseal` seals them; shredding clears it.
-- Keep in step with the other database's set.
ALTER TABLE pieces ADD COLUMN member_sealed BLOB;
