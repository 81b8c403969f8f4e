-- The list the front page shows: destinations only, with how much news and how many events each has.
CREATE INDEX pois_destination_name_idx ON public.pois (name) WHERE is_destination;

CREATE VIEW public.destination_summary AS
SELECT p.id, p.slug, p.name, p.poi_type, p.latitude, p.longitude,
       (SELECT count(*) FROM public.news n WHERE n.poi_id = p.id) AS news_count,
       (SELECT count(*) FROM public.events e WHERE e.poi_id = p.id) AS event_count
  FROM public.pois p
 WHERE p.is_destination;
