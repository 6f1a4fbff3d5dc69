"""The sandbox: offline stand-ins for X, Spotify, ReccoBeats, Mastodon and Bluesky.

Modules: ``corpus`` (the deterministic post generator with truth: ``generate_posts``, ``PostStream``),
``catalog`` (the fake Spotify catalog: ``Catalog``, ``get_catalog``), ``server`` (``start_sandbox``,
``serve``), one module per API (``x_api``, ``spotify_api``, ``reccobeats_api``, ``mastodon_api``,
``bluesky_api``), ``admin_api``, ``faults``. Tests and benchmarks may import these; services may not.
"""
