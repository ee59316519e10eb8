-- Ranked diagnosis of each RCA event revision (RcaEvent.hypotheses), as JSON text; '' when none.
-- Rows written before this column existed read as ''.
ALTER TABLE rca_events ADD COLUMN IF NOT EXISTS hypotheses String DEFAULT '' AFTER suggestion;
