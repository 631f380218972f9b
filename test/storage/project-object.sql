CREATE TABLE deleted_receivers (receiver_id TEXT PRIMARY KEY, deleted_at INTEGER NOT NULL);
CREATE TABLE legacy_receivers (generic_object_id TEXT NOT NULL, original_digest TEXT NOT NULL, receiver_id TEXT NOT NULL, key_digest TEXT UNIQUE, route TEXT NOT NULL, PRIMARY KEY (generic_object_id, original_digest));
CREATE TABLE names (name TEXT PRIMARY KEY, receiver_id TEXT NOT NULL, target TEXT, claimed_at INTEGER);
CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL, runnable_from INTEGER);
CREATE INDEX legacy_receivers_by_receiver ON legacy_receivers (receiver_id);
