"""Index tables: what the indexer writes so alerts can be searched by time, sky, class...

- :mod:`.records`: the compact record ingest publishes for every alert it stored
  (no HEALPix dependency: ingest imports it).
- :mod:`.layout`: the index tables, their row keys and the rows of one record.
- :mod:`.summary`: per-object summary rows and per-night statistics.

See ``docs/schema.md`` ("Index tables") for the layout and why it is so.
"""
