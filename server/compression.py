"""Response compression: gzip for what is worth compressing, nothing for tiny replies.

Litestar's compression middleware sets up a gzip stream for every request whose client
accepts gzip, before it knows the body's size; kiosks' browsers always do. Routes whose
replies are far below ``minimum_size`` (a stored answer, a heartbeat) opt out with
``opt={SKIP_COMPRESSION: True}`` and skip that set-up on the busiest path.
"""

from __future__ import annotations

import gzip

from litestar.config.compression import CompressionConfig

SKIP_COMPRESSION = "skip_compression"


def compression_config() -> CompressionConfig:
    # Level 6 (zlib's default), not Litestar's 9: a 570 KB /metrics body takes 4.5 ms
    # instead of 12.9 ms to compress, for a body 10 % larger.
    return CompressionConfig(
        backend="gzip",
        minimum_size=500,
        gzip_compress_level=6,
        exclude_opt_key=SKIP_COMPRESSION,
    )


def gzip_if_accepted(accept_encoding: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    """Body and headers for a large text reply a machine reads often (``/metrics``).

    Level 1, not the middleware's 6: on a 390 KB scrape it takes ~1.3 ms instead of
    4-8 ms, for 20 KB on the wire instead of 15 KB.
    """
    headers = {"Vary": "Accept-Encoding"}
    if "gzip" not in accept_encoding.lower():
        return body, headers
    return gzip.compress(body, compresslevel=1, mtime=0), {**headers, "Content-Encoding": "gzip"}
