-- Whether sign-ups were open when the flow started (the Account Portal's setting): a sign-in
-- by someone unknown finishes as a sign-up only then.
ALTER TABLE sign_in_flows ADD COLUMN sign_ups_open BIGINT NOT NULL DEFAULT 1;
