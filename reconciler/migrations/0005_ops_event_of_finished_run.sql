-- Up Migration

-- A run that ends (clean, breaks, repaired or failed) is an event on the operations stream
-- (GET /v1/ops/events), in the transaction that ends it: one event per run with its open breaks
-- by kind, not one per break, so a day with thousands of breaks does not hold the stream's counter
-- for the length of the run. The stream belongs to order-gateway; where its function is absent (a
-- database with the reconciler's tables alone) nothing is written.
CREATE FUNCTION ops_event_of_finished_run() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  by_kind jsonb;
  open_breaks integer;
BEGIN
  IF to_regprocedure('append_ops_event(text,jsonb)') IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(jsonb_object_agg(kind, n), '{}'::jsonb), coalesce(sum(n), 0)::integer
    INTO by_kind, open_breaks
    FROM (SELECT kind, count(*)::integer AS n FROM reconciliation_breaks
          WHERE run_id = NEW.id AND open GROUP BY kind) k;
  PERFORM append_ops_event('reconciliation', jsonb_build_object(
    'at', coalesce(NEW.finished_at, now()), 'kind', 'RECONCILIATION_' || upper(NEW.status),
    'runId', NEW.id::text, 'date', to_char(NEW.trade_date, 'YYYY-MM-DD'), 'status', NEW.status,
    'openBreaks', open_breaks, 'breaksByKind', by_kind,
    'detail', CASE WHEN NEW.status = 'failed' THEN left(NEW.failure, 2000)
                   ELSE open_breaks || ' open break(s) on ' || to_char(NEW.trade_date, 'YYYY-MM-DD') END));
  RETURN NULL;
END $$;
CREATE TRIGGER reconciliation_runs_to_ops_events AFTER UPDATE OF status ON reconciliation_runs
  FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running')
  EXECUTE FUNCTION ops_event_of_finished_run();

-- Down Migration
DROP TRIGGER reconciliation_runs_to_ops_events ON reconciliation_runs;
DROP FUNCTION ops_event_of_finished_run();
