-- Background jobs (news scrapers, event imports) write one row per log line: the bulkiest table by far.
CREATE TABLE public.job_logs (
    id bigserial PRIMARY KEY,
    job_name text NOT NULL,
    run_id integer NOT NULL,
    level text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message text NOT NULL,
    logged_at timestamp with time zone NOT NULL
);

CREATE INDEX job_logs_job_name_logged_at_idx ON public.job_logs (job_name, logged_at);
