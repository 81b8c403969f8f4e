-- Roots of The Valley: points of interest (some of them destinations), news, events, users and the
-- sessions connect-pg-simple keeps. Plain PostgreSQL types only (no PostGIS), so the schema also runs
-- on an embedded PostgreSQL without extensions.

CREATE FUNCTION public.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

CREATE TABLE public.pois (
    id serial PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    name text NOT NULL,
    poi_type text NOT NULL,
    is_destination boolean DEFAULT false NOT NULL,
    description text,
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    address text,
    website text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE INDEX pois_poi_type_idx ON public.pois (poi_type);

CREATE TABLE public.news (
    id serial PRIMARY KEY,
    poi_id integer REFERENCES public.pois (id) ON DELETE SET NULL,
    title text NOT NULL,
    summary text,
    body text NOT NULL,
    source_url text,
    published_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE INDEX news_poi_id_idx ON public.news (poi_id);
CREATE INDEX news_published_at_idx ON public.news (published_at DESC);

CREATE TABLE public.events (
    id serial PRIMARY KEY,
    poi_id integer REFERENCES public.pois (id) ON DELETE CASCADE,
    title text NOT NULL,
    description text,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone,
    is_free boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CHECK (ends_at IS NULL OR ends_at >= starts_at)
);

CREATE INDEX events_poi_id_idx ON public.events (poi_id);

CREATE TABLE public.users (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    google_id text UNIQUE,
    facebook_id text UNIQUE,
    password_hash text,
    role text DEFAULT 'user' NOT NULL CHECK (role IN ('user', 'editor', 'admin')),
    is_admin boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

-- Exactly the table connect-pg-simple creates (its table.sql), so the library finds what it expects.
CREATE TABLE public.session (
    sid character varying NOT NULL COLLATE "default",
    sess json NOT NULL,
    expire timestamp(6) without time zone NOT NULL
);
ALTER TABLE public.session ADD CONSTRAINT session_pkey PRIMARY KEY (sid) NOT DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX "IDX_session_expire" ON public.session (expire);

CREATE TRIGGER pois_set_updated_at BEFORE UPDATE ON public.pois FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER news_set_updated_at BEFORE UPDATE ON public.news FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER events_set_updated_at BEFORE UPDATE ON public.events FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
