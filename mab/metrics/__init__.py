"""Prometheus metrics of cache hits and misses, through the official client library.

- `build`: one build's figures (per platform: steps, cached, executed, failed, hit ratio,
  duration, slowdown against the fastest platform, cache import failures, misses by cause) as a
  `CollectorRegistry`, and the GitLab metrics report made from it.
- `textfile`: `mab build --metrics-file PATH`, node_exporter's textfile format, written atomically.
- `push`: `mab build --pushgateway URL`, the one module that talks to a Pushgateway.
- `history`: the aggregates of the local build history, collected on every scrape of
  `mab metrics serve`.

Label sets stay bounded: image, platform, cause, outcome and window only; never a step name, a
digest, a commit or a build id.
"""
