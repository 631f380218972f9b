CREATE TABLE names (name TEXT PRIMARY KEY, receiver_id TEXT NOT NULL);
CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
