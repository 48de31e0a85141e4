-- Up Migration

-- Each broker numbers its own reports: the fill receiver keeps what it received, and the holes it
-- saw, per broker. Rows from before there were several brokers are the preferred broker's.
ALTER TABLE fill_receiver_received ADD COLUMN broker text NOT NULL DEFAULT 'primary';
ALTER TABLE fill_receiver_received DROP CONSTRAINT fill_receiver_received_pkey;
ALTER TABLE fill_receiver_received ADD PRIMARY KEY (broker, sequence);

ALTER TABLE fill_receiver_gaps ADD COLUMN broker text NOT NULL DEFAULT 'primary';
ALTER TABLE fill_receiver_gaps DROP CONSTRAINT fill_receiver_gaps_pkey;
ALTER TABLE fill_receiver_gaps ADD PRIMARY KEY (broker, sequence);
DROP INDEX fill_receiver_gaps_open;
CREATE INDEX fill_receiver_gaps_open ON fill_receiver_gaps (broker, sequence) WHERE filled_at IS NULL;

-- Down Migration
DROP INDEX fill_receiver_gaps_open;
CREATE INDEX fill_receiver_gaps_open ON fill_receiver_gaps (sequence) WHERE filled_at IS NULL;
ALTER TABLE fill_receiver_gaps DROP CONSTRAINT fill_receiver_gaps_pkey;
ALTER TABLE fill_receiver_gaps DROP COLUMN broker;
ALTER TABLE fill_receiver_gaps ADD PRIMARY KEY (sequence);
ALTER TABLE fill_receiver_received DROP CONSTRAINT fill_receiver_received_pkey;
ALTER TABLE fill_receiver_received DROP COLUMN broker;
ALTER TABLE fill_receiver_received ADD PRIMARY KEY (sequence);
