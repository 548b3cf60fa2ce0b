-- A host's agent token, sealed (ChaCha20-Poly1305) with the server's key from its data
-- directory; hosts.token_ref is no longer read (it could name any file or variable).
ALTER TABLE hosts ADD COLUMN agent_token_sealed TEXT;

-- An optional TOTP second factor: the secret sealed like host tokens, switched on once a code
-- from it was confirmed, and the last time step used so a code works only once.
ALTER TABLE users ADD COLUMN totp_secret_sealed TEXT;
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
