-- The agent certificate's sha256, which the agent client pins instead of trusting a CA.
ALTER TABLE hosts ADD COLUMN cert_fingerprint TEXT NOT NULL DEFAULT '';
